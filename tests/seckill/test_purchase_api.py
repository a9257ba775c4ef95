"""POST /api/v1/vouchers/{id}/purchase through both gates: answers, errors, idempotency, queries."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from coupons.models import Voucher
from orders.models import Order
from seckill import gate
from seckill.selectors import pending_order
from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory, UserFactory, VoucherFactory

pytestmark = pytest.mark.django_db


def _buy(client, voucher_id, **headers):
    return client.post(f"/api/v1/vouchers/{voucher_id}/purchase", {}, format="json", **headers)


def _code(res):
    return res.json()["error"]["code"]


def test_database_gate_answers_201_with_a_written_order(db_gate):
    voucher = SeckillVoucherFactory(stock=3, price=150)
    user = UserFactory()
    res = _buy(auth_client(user), voucher.pk)
    assert res.status_code == 201, res.content
    order = res.json()["order"]
    assert order["status"] == "pending_payment" and order["amount"] == 150 and order["voucher"] == voucher.pk
    assert order["expires_at"]
    row = Order.objects.get(pk=order["id"])
    assert row.user == user and row.accepted_by == "db"
    voucher.refresh_from_db()
    assert voucher.stock == 2 and voucher.sold_count == 1


def test_redis_gate_answers_202_processing_and_the_intake_writes_it(redis_gate):
    voucher = SeckillVoucherFactory(stock=3, price=150)
    user = UserFactory()
    res = _buy(auth_client(user), voucher.pk)
    assert res.status_code == 202, res.content
    order = res.json()["order"]
    assert order["status"] == "processing" and order["amount"] == 150 and order["voucher"] == voucher.pk
    # Tests run Celery eagerly: the intake has written it through the database gate already.
    row = Order.objects.get(pk=order["id"])
    assert row.status == Order.Status.PENDING_PAYMENT and row.accepted_by == "redis" and row.user == user
    voucher.refresh_from_db()
    assert voucher.stock == 2
    assert gate.peek(voucher.pk)[1] == 2
    assert not gate.client().hlen(gate.keys(voucher.pk).pending)


def test_accepted_order_reads_processing_before_the_intake_runs(redis_gate, queued_intake):
    voucher = SeckillVoucherFactory(stock=3, price=150)
    user, other = UserFactory(), UserFactory()
    res = _buy(auth_client(user), voucher.pk)
    assert res.status_code == 202
    order_id = res.json()["order"]["id"]
    assert not Order.objects.filter(pk=order_id).exists()
    pending = pending_order(user.pk, uuid.UUID(order_id))
    assert pending.status == "processing" and str(pending.pk) == order_id and pending.amount == 150
    assert pending.voucher_id == voucher.pk and pending.user_id == user.pk
    assert pending_order(other.pk, uuid.UUID(order_id)) is None
    body = auth_client(user).get(f"/api/v1/orders/{order_id}").json()
    assert set(body) == {"id", "voucher", "status", "amount", "created_at", "expires_at", "paid_at", "failure_code"}
    assert body["status"] == "processing" and body["amount"] == 150 and body["expires_at"] is None


@pytest.mark.parametrize("gate_fixture", ["db_gate", "redis_gate"])
def test_contract_errors_in_both_gates(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    user = UserFactory()
    client = auth_client(user)
    now = timezone.now()

    sold = SeckillVoucherFactory(stock=0)
    res = _buy(client, sold.pk)
    assert (res.status_code, _code(res)) == (409, "sold_out")

    later = SeckillVoucherFactory(begins_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    res = _buy(client, later.pk)
    assert (res.status_code, _code(res)) == (409, "not_started")
    assert "begins_at" in res.json()["error"]["details"]

    over = SeckillVoucherFactory(begins_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    res = _buy(client, over.pk)
    assert (res.status_code, _code(res)) == (409, "ended")

    once = SeckillVoucherFactory(stock=5)
    assert _buy(client, once.pk).status_code in (201, 202)
    res = _buy(client, once.pk)
    assert (res.status_code, _code(res)) == (409, "already_purchased")

    twice = SeckillVoucherFactory(stock=5, per_user_limit=2)
    assert _buy(client, twice.pk).status_code in (201, 202)
    assert _buy(client, twice.pk).status_code in (201, 202)
    res = _buy(client, twice.pk)
    assert (res.status_code, _code(res)) == (409, "purchase_limit_reached")
    assert res.json()["error"]["details"]["limit"] == 2

    hidden = SeckillVoucherFactory(status=Voucher.Status.DELISTED)
    assert _buy(client, hidden.pk).status_code == 404
    draft = SeckillVoucherFactory(status=Voucher.Status.DRAFT)
    assert _buy(client, draft.pk).status_code == 404
    res = _buy(client, 999_999)
    assert (res.status_code, _code(res)) == (404, "not_found")
    assert Order.objects.filter(user=user).count() == 3


def test_normal_voucher_goes_through_the_database_gate_even_in_redis_mode(redis_gate):
    voucher = VoucherFactory(stock=None, per_user_limit=3)
    res = _buy(auth_client(UserFactory()), voucher.pk)
    assert res.status_code == 201
    voucher.refresh_from_db()
    assert voucher.sold_count == 1 and voucher.stock is None


def test_purchase_needs_a_token(api):
    voucher = SeckillVoucherFactory()
    res = _buy(api, voucher.pk)
    assert (res.status_code, _code(res)) == (401, "not_authenticated")


@pytest.mark.parametrize("gate_fixture", ["db_gate", "redis_gate"])
def test_idempotency_key_replays_the_first_answer(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=5)
    client = auth_client(UserFactory())
    first = _buy(client, voucher.pk, HTTP_IDEMPOTENCY_KEY="k-1")
    again = _buy(client, voucher.pk, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code in (201, 202)
    assert again.status_code == first.status_code and again.json() == first.json()
    assert Order.objects.filter(voucher=voucher).count() == 1
    other = _buy(client, voucher.pk, HTTP_IDEMPOTENCY_KEY="k-2")
    assert _code(other) == "already_purchased"
    assert _code(_buy(client, voucher.pk, HTTP_IDEMPOTENCY_KEY="k-2")) == "already_purchased"
    voucher.refresh_from_db()
    assert voucher.stock == 4


def test_purchase_is_throttled_per_customer_and_sold_out_answers_are_not(redis_gate, monkeypatch):
    from config.api import PurchaseThrottle

    monkeypatch.setattr(PurchaseThrottle, "THROTTLE_RATES", {"purchase": "3/min"})
    voucher = SeckillVoucherFactory(stock=10, per_user_limit=10)
    sold_out = SeckillVoucherFactory(stock=0)
    client, other = auth_client(UserFactory()), auth_client(UserFactory())
    codes = [_buy(client, voucher.pk).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    res = _buy(client, voucher.pk)
    assert _code(res) == "rate_limited" and "Retry-After" in res.headers
    assert _buy(other, voucher.pk).status_code == 202  # another customer is not slowed down
    # The sale's public state is answered before the throttle: never 429, and it counts nothing.
    assert [_code(_buy(other, sold_out.pk)) for _ in range(5)] == ["sold_out"] * 5
    assert _buy(other, voucher.pk).status_code == 202


@pytest.mark.parametrize("gate_fixture", ["db_gate", "redis_gate"])
def test_sold_out_is_answered_before_the_token_check(request, gate_fixture, django_assert_num_queries):
    """Sold out is public: a customer the server has never seen gets it without a database query
    (the Redis gate's stock; the database gate's sold-out flag, set by the first refusal)."""
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=1)
    client = auth_client(UserFactory())
    assert _buy(client, voucher.pk).status_code in (201, 202)
    first = auth_client(UserFactory())
    assert _code(_buy(first, voucher.pk)) == "sold_out"  # the database gate learns it here
    for latecomer in (auth_client(UserFactory()), auth_client(UserFactory()), client):
        with django_assert_num_queries(0):
            res = _buy(latecomer, voucher.pk)
        assert (res.status_code, _code(res)) == (409, "sold_out")
        assert res.json()["error"]["message"]


def test_not_started_and_ended_are_answered_before_the_token_check(redis_gate, django_assert_num_queries):
    now = timezone.now()
    later = SeckillVoucherFactory(begins_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    over = SeckillVoucherFactory(begins_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    gate.gate_load(later)
    gate.gate_load(over)
    client = auth_client(UserFactory())
    with django_assert_num_queries(0):
        early, late = _buy(client, later.pk), _buy(client, over.pk)
    assert (early.status_code, _code(early)) == (409, "not_started")
    assert early.json()["error"]["details"]["begins_at"].startswith(later.begins_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert (late.status_code, _code(late)) == (409, "ended") and "ended_at" in late.json()["error"]["details"]


@pytest.mark.parametrize("gate_fixture", ["db_gate", "redis_gate"])
def test_without_credentials_a_sold_out_sale_is_still_401(request, gate_fixture, api):
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=0)
    _buy(auth_client(UserFactory()), voucher.pk)  # the state is known (gate loaded, flag set)
    res = _buy(api, voucher.pk)
    assert (res.status_code, _code(res)) == (401, "not_authenticated")


def test_a_wrong_token_on_a_sold_out_sale_learns_only_the_public_state(redis_gate):
    voucher = SeckillVoucherFactory(stock=0)
    gate.gate_load(voucher)
    from rest_framework.test import APIClient

    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert _code(_buy(stranger, voucher.pk)) == "sold_out"
    on_sale = SeckillVoucherFactory(stock=5)
    res = _buy(stranger, on_sale.pk)
    assert (res.status_code, _code(res)) == (401, "not_authenticated")
    assert not Order.objects.exists()


@pytest.mark.parametrize("gate_fixture", ["db_gate", "redis_gate"])
def test_an_idempotent_retry_replays_its_answer_after_the_sale_sold_out(request, gate_fixture):
    """A retry with its Idempotency-Key is authenticated and gets the stored answer (the order it
    bought), not the sold-out answer everyone else now gets."""
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=1)
    client = auth_client(UserFactory())
    first = _buy(client, voucher.pk, HTTP_IDEMPOTENCY_KEY="try-1")
    assert first.status_code in (201, 202)
    assert _code(_buy(auth_client(UserFactory()), voucher.pk)) == "sold_out"
    again = _buy(client, voucher.pk, HTTP_IDEMPOTENCY_KEY="try-1")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert _code(_buy(client, voucher.pk)) == "sold_out"


def test_the_database_gate_flag_goes_when_a_unit_comes_back(db_gate, django_capture_on_commit_callbacks):
    from orders.services import order_cancel

    voucher = SeckillVoucherFactory(stock=1)
    buyer = UserFactory()
    order_id = _buy(auth_client(buyer), voucher.pk).json()["order"]["id"]
    assert _code(_buy(auth_client(UserFactory()), voucher.pk)) == "sold_out"  # flag set
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=uuid.UUID(order_id), user=buyer)
    assert _buy(auth_client(UserFactory()), voucher.pk).status_code == 201


def test_the_database_gate_flag_lasts_seconds(db_gate, redis_client):
    from seckill.soldout import SOLD_OUT_FLAG_SECONDS, flag_key

    voucher = SeckillVoucherFactory(stock=0)
    assert _code(_buy(auth_client(UserFactory()), voucher.pk)) == "sold_out"
    assert 0 < redis_client.ttl(flag_key(voucher.pk)) <= SOLD_OUT_FLAG_SECONDS == 3


def test_accepted_redis_purchase_reads_the_database_only_for_auth(redis_gate, django_assert_max_num_queries):
    voucher = SeckillVoucherFactory(stock=5)
    gate.gate_load(voucher)
    client = auth_client(UserFactory())
    from config.celery import app

    app.conf.task_always_eager = False  # measure the request alone, not the eager intake
    try:
        with django_assert_max_num_queries(1):
            res = _buy(client, voucher.pk)
    finally:
        from seckill import dispatch

        assert dispatch.flush(timeout=10)  # its batch goes to the broker, not eagerly into a later test
        app.conf.task_always_eager = True
    assert res.status_code == 202


def test_a_repeat_purchase_is_already_purchased_when_the_backend_does_not_name_the_constraint(db_gate, monkeypatch):
    """SQLite (the embedded default) reports the one-live-order index by its columns only; the
    repeat purchase must still be 409 already_purchased, not a 500. (The whole db-gate suite also
    runs on SQLite: DATABASE_URL= SQLITE_PATH=/tmp/x.db pytest tests/seckill -k db_gate.)"""
    from django.db import IntegrityError

    user = UserFactory()
    client = auth_client(user)
    voucher = SeckillVoucherFactory(stock=5)
    assert _buy(client, voucher.pk).status_code == 201
    original = Order.save

    def save_like_sqlite(self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except IntegrityError as exc:
            raise IntegrityError("UNIQUE constraint failed: orders_order.user_id, orders_order.voucher_id") from exc

    monkeypatch.setattr(Order, "save", save_like_sqlite)
    res = _buy(client, voucher.pk)
    assert (res.status_code, _code(res)) == (409, "already_purchased")
    assert Order.objects.filter(user=user, voucher=voucher).count() == 1


@pytest.fixture
def redis_round_trips(monkeypatch):
    """Every command or pipeline sent to Redis by this process (a pipeline is one send)."""
    from redis.connection import AbstractConnection

    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    return sent


def test_an_accepted_purchase_costs_three_redis_round_trips_and_no_query(
    redis_gate, monkeypatch, redis_round_trips, django_assert_num_queries
):
    """The sale's state and the token's entry (one pipeline), the throttle, the take and the
    order's index (one pipeline). The hand-off to the intake is off the request (dispatcher)."""
    from accounts import tokens
    from seckill import dispatch

    handed = []
    monkeypatch.setattr(dispatch, "submit", handed.append)
    voucher = SeckillVoucherFactory(stock=5)
    gate.gate_load(voucher)
    assert _buy(auth_client(UserFactory()), voucher.pk).status_code == 202  # scripts loaded, pools open
    user = UserFactory()
    client = auth_client(user)
    tokens.token_remember(user.auth_token.key, user)  # as when the token was issued
    redis_round_trips.clear()
    with django_assert_num_queries(0):
        res = _buy(client, voucher.pk)
    assert res.status_code == 202 and len(handed) == 2
    assert len(redis_round_trips) == 3, redis_round_trips


def test_a_sold_out_answer_costs_one_redis_round_trip(redis_gate, redis_round_trips):
    voucher = SeckillVoucherFactory(stock=0)
    gate.gate_load(voucher)
    client = auth_client(UserFactory())
    assert _code(_buy(client, voucher.pk)) == "sold_out"
    redis_round_trips.clear()
    assert _code(_buy(client, voucher.pk)) == "sold_out"
    assert len(redis_round_trips) == 1


def test_a_redis_that_lost_its_scripts_still_sells(redis_gate, redis_client):
    voucher = SeckillVoucherFactory(stock=5)
    assert _buy(auth_client(UserFactory()), voucher.pk).status_code == 202
    redis_client.script_flush()  # Redis restarted: the scripts are gone, the client's SHA stays
    assert _buy(auth_client(UserFactory()), voucher.pk).status_code == 202
    assert gate.peek(voucher.pk)[1] == 3
