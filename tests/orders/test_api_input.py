"""Bad input on every order endpoint answers 400 with a code and changes nothing; Idempotency-Key
replays and conflicts on pay."""

import pytest

from orders.models import Order, OrderEvent
from tests.conftest import auth_client
from tests.factories import VoucherFactory
from wallet.models import LedgerEntry

from .helpers import balance, buy, customer, stock

pytestmark = pytest.mark.django_db

GARBAGE = ["{not json", "[1, 2]", '"pay"', "12", "null", "[" * 5000 + "]" * 5000]


@pytest.fixture
def setup():
    v = VoucherFactory(price=300, stock=3)
    u = customer(balance=1000)
    return v, u, buy(u, v)


def unchanged(v, u, order, status="pending_payment", money=1000, left=2):
    order.refresh_from_db()
    assert order.status == status
    assert balance(u) == money
    assert stock(v) == left


@pytest.mark.parametrize("action", ["pay", "cancel", "refund"])
@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_json_is_400_and_changes_nothing(setup, action, raw):
    v, u, order = setup
    events = OrderEvent.objects.count()
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/{action}", raw, content_type="application/json")
    assert res.status_code == 400, (action, raw, res.content)
    assert res.json()["error"]["code"] == "validation_error"
    unchanged(v, u, order)
    assert OrderEvent.objects.count() == events


@pytest.mark.parametrize("body", [{"method": 5}, {"method": None}, {"method": ["wallet"]}, {"method": "cash"}])
def test_pay_with_a_bad_method_is_400(setup, body):
    v, u, order = setup
    res = auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", body, format="json")
    assert res.status_code == 400 and "method" in res.json()["error"]["details"]
    unchanged(v, u, order)


def test_pay_without_a_body_defaults_to_the_wallet(setup, django_assert_max_num_queries):
    v, u, order = setup
    client = auth_client(u)
    with django_assert_max_num_queries(13):
        res = client.post(f"/api/v1/orders/{order.pk}/pay")
    assert res.status_code == 200 and res.json()["status"] == "paid"
    assert balance(u) == 700


def test_pay_replays_with_the_same_key_and_conflicts_with_another_body(setup):
    v, u, order = setup
    client = auth_client(u)
    url = f"/api/v1/orders/{order.pk}/pay"
    first = client.post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    replay = client.post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == replay.status_code == 200
    assert first.json() == replay.json()
    assert balance(u) == 700
    assert LedgerEntry.objects.filter(order=order).count() == 1
    clash = client.post(url, {"method": "card"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_conflict"
    # a new key is a new request: the order is already paid
    fresh = client.post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="pay-2")
    assert fresh.status_code == 409 and fresh.json()["error"]["code"] == "invalid_state"


def test_an_error_answer_is_replayed_too(setup):
    v, _, _ = setup
    poor = customer(balance=10)
    order = buy(poor, v)
    client = auth_client(poor)
    url = f"/api/v1/orders/{order.pk}/pay"
    first = client.post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert first.status_code == 409 and first.json()["error"]["code"] == "insufficient_funds"
    client.post("/api/v1/wallet/topups", {"amount": 1000}, format="json")
    replay = client.post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert replay.status_code == 409 and replay.json() == first.json()
    assert Order.objects.get(pk=order.pk).status == "pending_payment"


def test_refund_credit_fires_wallet_credited_after_commit(setup, django_capture_on_commit_callbacks):
    from orders.services import order_pay, order_refund
    from wallet.signals import wallet_credited

    v, u, order = setup
    order_pay(order_id=order.pk, user=u)
    got = []

    def listener(sender, **kw):
        got.append((kw["user_id"], kw["amount"], kw["kind"]))

    wallet_credited.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            order_refund(order_id=order.pk, user=u)
    finally:
        wallet_credited.disconnect(listener)
    assert got == [(u.pk, 300, "order_refund")]


def test_actions_need_a_token(api, setup):
    _, _, order = setup
    for action in ("pay", "cancel", "refund"):
        assert api.post(f"/api/v1/orders/{order.pk}/{action}").status_code == 401


@pytest.mark.parametrize("key", ["a\x00b", "tab\there", "line\x1bx"])
def test_an_idempotency_key_with_control_characters_is_400(setup, key):
    v, u, order = setup
    res = auth_client(u).post(
        f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    unchanged(v, u, order)


def _claim(user, url: str, body: dict, key: str, age_seconds: int):
    """An Idempotency-Key claimed by a request that never answered (its worker died)."""
    from datetime import timedelta
    from types import SimpleNamespace

    from django.utils import timezone

    from accounts.idempotency import _fingerprint
    from accounts.models import IdempotencyRecord

    fp = _fingerprint(SimpleNamespace(method="POST", path=url, data=body))
    record = IdempotencyRecord.objects.create(user=user, key=key, fingerprint=fp)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(seconds=age_seconds))


def test_a_key_left_in_flight_by_a_dead_request_is_taken_over_after_a_while(setup):
    from accounts.idempotency import IDEMPOTENCY_STALE_SECONDS

    v, u, order = setup
    url = f"/api/v1/orders/{order.pk}/pay"
    _claim(u, url, {"method": "wallet"}, "k-dead", IDEMPOTENCY_STALE_SECONDS + 5)
    res = auth_client(u).post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert res.status_code == 200 and res.json()["status"] == "paid"
    replay = auth_client(u).post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="k-dead")
    assert replay.status_code == 200 and replay.json() == res.json()
    assert balance(u) == 700


def test_a_key_still_in_flight_is_409(setup):
    v, u, order = setup
    url = f"/api/v1/orders/{order.pk}/pay"
    _claim(u, url, {"method": "wallet"}, "k-live", 1)
    res = auth_client(u).post(url, {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="k-live")
    assert res.status_code == 409 and res.json()["error"]["code"] == "idempotency_conflict"
    unchanged(v, u, order)


def test_a_claim_that_vanishes_under_a_retry_is_409_not_a_500(setup, monkeypatch):
    """The first request failed and let its claim go just as a retry found it taken."""
    from django.db import IntegrityError

    from accounts.models import IdempotencyRecord

    v, u, order = setup

    def taken(**kwargs):
        raise IntegrityError("duplicate key value violates unique constraint")

    monkeypatch.setattr(IdempotencyRecord.objects, "create", taken)
    res = auth_client(u).post(
        f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="gone"
    )
    assert res.status_code == 409 and res.json()["error"]["code"] == "idempotency_conflict"
    unchanged(v, u, order)
