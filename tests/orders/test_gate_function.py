"""The database gate as one call of a server-side function (PostgreSQL, migration 0008) against the
Python path it replaces there (and that SQLite keeps): the same rows, column by column, the same
refusals, one query per purchase and one per intake batch."""

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from config.errors import DomainError
from coupons.models import Voucher
from orders import placing
from orders.ids import new_order_id
from orders.models import Order, OrderEvent
from tests.factories import SeckillVoucherFactory, UserFactory, VoucherFactory

pytestmark = pytest.mark.django_db

# Columns that differ between two orders by nature (who, which, when); every other column of the
# row, including any added later, must be the same whichever path wrote it.
PER_ORDER = {"id", "user"}
TIMES = {"created_at", "updated_at", "expires_at"}


@pytest.fixture
def python_path(monkeypatch):
    monkeypatch.setattr(placing, "sql_gate", lambda: False)


def _place(path: str, voucher: Voucher, user, **kw) -> Order:
    if path == "sql":
        assert placing.sql_gate()
        return placing.order_place(voucher=voucher, user_id=user.pk, **kw)
    return placing._order_place_python(
        voucher=voucher,
        user_id=user.pk,
        order_id=kw.get("order_id"),
        accepted_at=kw.get("accepted_at"),
        accepted_by=kw.get("accepted_by", "db"),
    )


@pytest.mark.parametrize("accepted_by", ["db", "redis"])
def test_the_function_writes_the_same_order_and_event_as_the_python_path(accepted_by):
    voucher = SeckillVoucherFactory(stock=5, price=230, per_user_limit=1, payment_window_seconds=600)
    at = timezone.now() - timedelta(seconds=2)
    a, b = UserFactory(), UserFactory()
    kw = {"accepted_by": accepted_by, "accepted_at": at}
    by_sql = _place("sql", voucher, a, order_id=new_order_id(), **kw)
    by_python = _place("python", voucher, b, order_id=new_order_id(), **kw)
    rows = {o.pk: o for o in Order.objects.filter(pk__in=[by_sql.pk, by_python.pk])}
    sql_row, python_row = rows[by_sql.pk], rows[by_python.pk]
    assert sql_row.user_id == a.pk and python_row.user_id == b.pk
    compared = []
    for field in Order._meta.concrete_fields:
        if field.name in PER_ORDER:
            continue
        mine, theirs = getattr(sql_row, field.attname), getattr(python_row, field.attname)
        if field.name in TIMES:
            assert mine is not None and theirs is not None, field.name
            assert abs(mine - theirs) < timedelta(seconds=5), field.name
        else:
            assert mine == theirs, f"column {field.name}: function wrote {mine!r}, Python {theirs!r}"
        compared.append(field.name)
    assert {"status", "amount", "single_slot", "accepted_by", "stock_released", "failure_code"} <= set(compared)
    assert sql_row.created_at == at and sql_row.accepted_by == accepted_by
    # What the service answers (the API's body) is the row as written.
    for name in ("status", "amount", "organization_id", "single_slot", "created_at", "expires_at"):
        assert getattr(by_sql, name) == getattr(sql_row, name), name

    events = {e.order_id: e for e in OrderEvent.objects.filter(order_id__in=[by_sql.pk, by_python.pk])}
    assert len(events) == 2
    for field in OrderEvent._meta.concrete_fields:
        if field.name in {"id", "order", "actor"}:
            continue
        mine, theirs = getattr(events[by_sql.pk], field.attname), getattr(events[by_python.pk], field.attname)
        if field.name == "created_at":
            assert abs(mine - theirs) < timedelta(seconds=5)
        else:
            assert mine == theirs, f"event column {field.name}: function wrote {mine!r}, Python {theirs!r}"
    assert events[by_sql.pk].actor_id == a.pk
    voucher.refresh_from_db()
    assert voucher.stock == 3 and voucher.sold_count == 2


def _refusal(path: str, voucher: Voucher, user, **kw) -> DomainError:
    with pytest.raises(DomainError) as exc:
        _place(path, voucher, user, **kw)
    return exc.value


def test_the_function_refuses_as_the_python_path_does():
    now = timezone.now()
    user = UserFactory()
    cases = {
        "sold out": SeckillVoucherFactory(stock=0),
        "not started": SeckillVoucherFactory(begins_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2)),
        "ended": SeckillVoucherFactory(begins_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1)),
        "delisted": SeckillVoucherFactory(status=Voucher.Status.DELISTED),
    }
    for name, voucher in cases.items():
        mine, theirs = _refusal("sql", voucher, user), _refusal("python", voucher, user)
        assert (mine.code, mine.status, mine.details) == (theirs.code, theirs.status, theirs.details), name

    once = SeckillVoucherFactory(stock=5)
    _place("sql", once, user)
    mine, theirs = _refusal("sql", once, user), _refusal("python", once, user)
    assert mine.code == theirs.code == "already_purchased"

    twice = SeckillVoucherFactory(stock=5, per_user_limit=2)
    _place("sql", twice, user)
    _place("python", twice, user)
    mine, theirs = _refusal("sql", twice, user), _refusal("python", twice, user)
    assert (mine.code, mine.details) == (theirs.code, theirs.details)
    assert mine.details == {"limit": 2, "held": 2, "reason": "per_user_limit"}
    for v in (once, twice, *cases.values()):
        v.refresh_from_db()
    assert once.stock == 4 and twice.stock == 3 and cases["sold out"].stock == 0
    assert Order.objects.filter(user=user).count() == 3


def test_an_order_id_written_before_is_an_integrity_error_as_from_the_insert():
    voucher = SeckillVoucherFactory(stock=5, per_user_limit=3)
    user = UserFactory()
    oid = new_order_id()
    _place("sql", voucher, user, order_id=oid)
    with pytest.raises(IntegrityError):
        _place("sql", voucher, user, order_id=oid)
    voucher.refresh_from_db()
    assert voucher.stock == 4 and Order.objects.filter(voucher=voucher).count() == 1


def test_unlimited_stock_counts_sales_only():
    voucher = VoucherFactory(stock=None, per_user_limit=3)
    _place("sql", voucher, UserFactory())
    voucher.refresh_from_db()
    assert voucher.stock is None and voucher.sold_count == 1


@pytest.fixture
def notified(monkeypatch):
    from coupons.tasks import notify_low_stock

    sent = []
    monkeypatch.setattr(notify_low_stock, "delay", lambda voucher_id: sent.append(voucher_id))
    return sent


def test_the_low_stock_crossing_is_claimed_once_by_the_function(django_capture_on_commit_callbacks, notified):
    voucher = SeckillVoucherFactory(stock=4, low_stock_threshold=2)
    users = [UserFactory() for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        _place("sql", voucher, users[0])
    voucher.refresh_from_db()
    assert voucher.low_stock_alerted_at is None and notified == []
    with django_capture_on_commit_callbacks(execute=True):
        _place("sql", voucher, users[1])
        _place("sql", voucher, users[2])
    voucher.refresh_from_db()
    assert voucher.stock == 1 and voucher.low_stock_alerted_at is not None
    assert notified == [voucher.pk]


def test_a_database_gate_purchase_is_one_query(db_gate_settings, django_assert_num_queries):
    voucher = SeckillVoucherFactory(stock=5)
    user, other = UserFactory(), UserFactory()
    placing.order_purchase(voucher_id=voucher.pk, user=user)  # learns the voucher's organization
    with django_assert_num_queries(1):
        order = placing.order_purchase(voucher_id=voucher.pk, user=other)
    assert order.status == Order.Status.PENDING_PAYMENT and order.amount == voucher.price
    voucher.refresh_from_db()
    assert voucher.stock == 3


def test_a_remembered_voucher_delisted_since_is_refused_by_the_function(db_gate_settings):
    from coupons.services import voucher_delist

    voucher = SeckillVoucherFactory(stock=5)
    placing.order_purchase(voucher_id=voucher.pk, user=UserFactory())
    voucher_delist(voucher_id=voucher.pk)
    with pytest.raises(DomainError) as exc:
        placing.order_purchase(voucher_id=voucher.pk, user=UserFactory())
    assert (exc.value.code, exc.value.status) == ("not_found", 404)


@pytest.fixture
def db_gate_settings(settings):
    settings.SECKILL_GATE = "db"
    placing.voucher_rules_forget()
    yield settings
    placing.voucher_rules_forget()


# --- the intake's batch ------------------------------------------------------------------------------


def _accepted(voucher, user, *, ms=None):
    return {
        "order_id": str(new_order_id()),
        "voucher_id": voucher.pk,
        "user_id": user.pk,
        "accepted_ms": ms or int(timezone.now().timestamp() * 1000),
    }


def _call(batch):
    return placing.orders_place_accepted(
        order_ids=[o["order_id"] for o in batch],
        voucher_ids=[o["voucher_id"] for o in batch],
        user_ids=[o["user_id"] for o in batch],
        accepted_ms=[o["accepted_ms"] for o in batch],
    )


def test_a_batch_of_two_vouchers_is_written_in_one_query(django_assert_num_queries):
    a, b = SeckillVoucherFactory(stock=5, price=120), SeckillVoucherFactory(stock=5, per_user_limit=2)
    users = [UserFactory() for _ in range(4)]
    batch = [_accepted(a, u) for u in users[:3]] + [_accepted(b, users[0]), _accepted(b, users[0])]
    with django_assert_num_queries(1):
        outcomes = _call(batch)
    assert sorted(o[2] for o in outcomes) == ["written"] * 5
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.stock, a.sold_count, b.stock, b.sold_count) == (2, 3, 3, 2)
    rows = Order.objects.filter(pk__in=[uuid.UUID(o["order_id"]) for o in batch])
    assert {(o.status, o.accepted_by) for o in rows} == {("pending_payment", "redis")}
    first = rows.get(pk=batch[0]["order_id"])
    assert first.amount == 120 and first.single_slot and first.expires_at is not None
    assert int(first.created_at.timestamp() * 1000) == batch[0]["accepted_ms"]
    assert OrderEvent.objects.filter(order__in=rows, from_status="processing", reason="purchased").count() == 5
    # Delivered again: nothing written twice, each answered with its row's status.
    again = _call(batch)
    assert sorted(o[2] for o in again) == ["exists"] * 5 and {o[3] for o in again} == {"pending_payment"}
    a.refresh_from_db()
    assert a.stock == 2


def test_a_group_with_anything_unusual_writes_nothing_and_goes_order_by_order():
    now = timezone.now()
    held = SeckillVoucherFactory(stock=5)
    users = [UserFactory() for _ in range(3)]
    placing.order_place(voucher=held, user_id=users[0].pk)
    few = SeckillVoucherFactory(stock=1)
    closing = SeckillVoucherFactory(stock=5, ends_at=now + timedelta(minutes=1))
    limit2 = SeckillVoucherFactory(stock=9, per_user_limit=2)
    fine = SeckillVoucherFactory(stock=5)
    late_ms = int((closing.ends_at + timedelta(seconds=1)).timestamp() * 1000)
    batch = [
        _accepted(held, users[0]),  # the slot is held already
        _accepted(held, users[1]),
        _accepted(few, users[0]),  # two orders for one unit
        _accepted(few, users[1]),
        _accepted(closing, users[0], ms=late_ms),  # accepted after the end
        _accepted(limit2, users[2]),  # three for a limit of two
        _accepted(limit2, users[2]),
        _accepted(limit2, users[2]),
        _accepted(fine, users[2]),
    ]
    outcomes = {o[0]: o[2] for o in _call(batch)}
    assert [outcomes[o["order_id"]] for o in batch] == ["single"] * 8 + ["written"]
    for voucher, stock in ((held, 4), (few, 1), (closing, 5), (limit2, 9), (fine, 4)):
        voucher.refresh_from_db()
        assert voucher.stock == stock, voucher.title
    assert Order.objects.filter(pk__in=[uuid.UUID(o["order_id"]) for o in batch[:8]]).count() == 0


def test_the_batch_claims_the_low_stock_crossing_once(django_capture_on_commit_callbacks, notified):
    voucher = SeckillVoucherFactory(stock=4, low_stock_threshold=2)
    with django_capture_on_commit_callbacks(execute=True):
        _call([_accepted(voucher, UserFactory()) for _ in range(3)])
        _call([_accepted(voucher, UserFactory())])
    voucher.refresh_from_db()
    assert voucher.stock == 0 and voucher.low_stock_alerted_at is not None
    assert notified == [voucher.pk]
