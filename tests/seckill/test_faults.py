"""Faults: Redis flushed mid-sale, the intake worker lost after the gate accepted, the database
failing under the intake, scripts facing missing keys, drift, and the oversell alarm."""

import logging
import time
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import OperationalError

from coupons.models import Alert
from orders.ids import new_order_id
from orders.models import Order
from seckill import gate, intake
from seckill.purchase import voucher_purchase
from seckill.reconcile import reconcile_all
from seckill.tasks import intake_order
from tests.factories import OperatorFactory, OrderFactory, SeckillVoucherFactory, UserFactory

from .conftest import make_users, race

pytestmark = pytest.mark.django_db(transaction=True)


def _live(voucher):
    return Order.objects.filter(voucher=voucher, status__in=Order.LIVE).count()


def _drain_broker_pending(voucher):
    """What a worker would do with the queued messages: run each pending entry's intake."""
    for order_id, (user_id, accepted_ms) in gate.pending_entries(voucher.pk).items():
        intake.intake_write(order_id=order_id, voucher_id=voucher.pk, user_id=user_id, accepted_ms=accepted_ms)


# --- scripts and missing keys ---------------------------------------------------------------------


def test_lua_refuses_to_sell_from_missing_keys(redis_gate):
    voucher = SeckillVoucherFactory(stock=3)
    k = gate.keys(voucher.pk)
    oid = new_order_id()
    assert gate.take_and_index(voucher_id=voucher.pk, user_id=1, order_id=oid, now_ms=gate_now()) == (
        gate.NOT_LOADED,
        0,
    )
    assert not gate.client().exists(k.stock, k.buyers, k.pending)
    gate.gate_load(voucher)
    gate.client().delete(k.stock)
    assert gate.take_and_index(voucher_id=voucher.pk, user_id=1, order_id=oid, now_ms=gate_now())[0] == gate.NOT_LOADED
    gate.gate_load(voucher)
    gate.client().delete(k.meta)
    assert gate.take_and_index(voucher_id=voucher.pk, user_id=1, order_id=oid, now_ms=gate_now())[0] == gate.NOT_LOADED
    assert gate.client().get(k.stock) == "3" and not gate.client().exists(k.pending)
    # The service loads the gate from the database and sells.
    result = voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    assert result.accepted_async
    assert gate.peek(voucher.pk)[1] == 2


def test_release_and_giveback_on_an_unloaded_gate_change_nothing(redis_gate):
    voucher = SeckillVoucherFactory(stock=3)
    gate.gate_release(voucher_id=voucher.pk, user_id=1, order_id=uuid.uuid4())
    assert not gate.gate_give_back(voucher_id=voucher.pk, user_id=1, order_id=uuid.uuid4())
    assert not gate.client().keys("*")


def test_a_second_load_never_resets_a_live_gate(redis_gate):
    voucher = SeckillVoucherFactory(stock=5)
    assert gate.gate_load(voucher)
    voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    assert not gate.gate_load(voucher)
    assert gate.peek(voucher.pk)[1] == 4


def gate_now():
    import time

    return int(time.time() * 1000)


# --- Redis flushed mid-sale -----------------------------------------------------------------------


def test_redis_flushed_mid_sale_never_oversells_and_reconciliation_settles(redis_gate, redis_client):
    voucher = SeckillVoucherFactory(stock=50)
    users = make_users(200, prefix="flush")
    first, _ = race(lambda u: voucher_purchase(voucher_id=voucher.pk, user=u), [(u,) for u in users[:20]])
    assert len(first) == 20
    redis_client.flushdb()  # Redis restarted without persistence: gate, buyers and pending are gone
    rest, codes = race(lambda u: voucher_purchase(voucher_id=voucher.pk, user=u), [(u,) for u in users])
    # The reloaded gate knows the 20 written orders: those customers are refused as repeat buyers.
    assert len(rest) == 30
    assert set(codes) <= {"already_purchased", "sold_out"} and sum(codes.values()) == 170
    assert codes.get("already_purchased", 0) <= 20
    voucher.refresh_from_db()
    assert voucher.stock == 0 and _live(voucher) == 50
    reports = reconcile_all(repair_now=True)
    mine = next(r for r in reports if r["voucher"] == voucher.pk)
    assert mine["gate"] == "ok" and mine["live_orders"] == 50 and "oversell" not in mine
    assert not Alert.objects.filter(kind=Alert.Kind.OVERSELL).exists()


def test_flush_while_orders_wait_for_the_intake_fails_extras_instead_of_overselling(
    redis_gate, queued_intake, redis_client
):
    """30 orders accepted and queued; Redis loses the gate (not the workers' messages); the
    reloaded gate accepts again from the database's stock. The database gate refuses the extras:
    they become failed orders with `sold_out`, and no unit is sold twice."""
    voucher = SeckillVoucherFactory(stock=50)
    users = make_users(80, prefix="queued")
    for u in users[:30]:
        assert voucher_purchase(voucher_id=voucher.pk, user=u).accepted_async
    queued = gate.pending_entries(voucher.pk)
    assert len(queued) == 30 and _live(voucher) == 0
    redis_client.flushdb()
    for u in users[30:]:
        voucher_purchase(voucher_id=voucher.pk, user=u)
    queued.update(gate.pending_entries(voucher.pk))
    assert len(queued) == 80
    for order_id, (user_id, ms) in queued.items():
        intake.intake_write(order_id=order_id, voucher_id=voucher.pk, user_id=user_id, accepted_ms=ms)
    voucher.refresh_from_db()
    assert _live(voucher) == 50 and voucher.stock == 0
    failed = Order.objects.filter(voucher=voucher, status=Order.Status.FAILED)
    assert failed.count() == 30 and set(failed.values_list("failure_code", flat=True)) == {"sold_out"}
    reconcile_all(repair_now=True)
    assert gate.peek(voucher.pk)[1] == 0
    assert not Alert.objects.filter(kind=Alert.Kind.OVERSELL).exists()


# --- the intake lost or failing ---------------------------------------------------------------------


def test_worker_killed_after_the_gate_accepted_the_reconciliation_reenqueues(redis_gate, queued_intake, settings):
    voucher = SeckillVoucherFactory(stock=5)
    user = UserFactory()
    order = voucher_purchase(voucher_id=voucher.pk, user=user).order
    assert not Order.objects.filter(pk=order.pk).exists()
    gate.client().flushdb()  # the broker's message is lost with the worker ...
    # ... but the gate's pending entry survives in a real incident; put back what the flush took
    gate.gate_load(voucher)
    k = gate.keys(voucher.pk)
    gate.client().hset(k.pending, str(order.pk), f"{user.pk}:{int(order.created_at.timestamp() * 1000)}")
    gate.client().decr(k.stock)
    gate.client().hset(k.buyers, user.pk, 1)
    from config.celery import app

    app.conf.task_always_eager = True
    settings.SECKILL_PENDING_STALE_SECONDS = 0
    reconcile_all()
    row = Order.objects.get(pk=order.pk)
    assert row.status == Order.Status.PENDING_PAYMENT and row.created_at == order.created_at
    assert not gate.client().hlen(k.pending)
    voucher.refresh_from_db()
    assert voucher.stock == 4 and gate.peek(voucher.pk)[1] == 4


def test_worker_killed_between_commit_and_tidy_is_tidied(redis_gate, queued_intake, monkeypatch):
    voucher = SeckillVoucherFactory(stock=5)
    order = voucher_purchase(voucher_id=voucher.pk, user=UserFactory()).order
    pending = gate.pending_entries(voucher.pk)
    monkeypatch.setattr(gate, "gate_done", lambda **kw: (_ for _ in ()).throw(SystemExit("killed")))
    user_id, ms = pending[str(order.pk)]
    with pytest.raises(SystemExit):
        intake.intake_write(order_id=str(order.pk), voucher_id=voucher.pk, user_id=user_id, accepted_ms=ms)
    monkeypatch.undo()
    assert Order.objects.filter(pk=order.pk, status=Order.Status.PENDING_PAYMENT).exists()
    assert gate.client().hlen(gate.keys(voucher.pk).pending) == 1
    report = next(r for r in reconcile_all() if r["voucher"] == voucher.pk)
    assert report["tidied"] == [str(order.pk)] and report["gate"] == "ok"
    assert gate.peek(voucher.pk)[1] == 4


def test_intake_is_idempotent_by_order_id(redis_gate, queued_intake):
    voucher = SeckillVoucherFactory(stock=5, per_user_limit=3)
    order = voucher_purchase(voucher_id=voucher.pk, user=UserFactory()).order
    (user_id, ms) = gate.pending_entries(voucher.pk)[str(order.pk)]
    kwargs = {"order_id": str(order.pk), "voucher_id": voucher.pk, "user_id": user_id, "accepted_ms": ms}
    assert intake_order.apply(kwargs=kwargs).result == "pending_payment"
    assert intake_order.apply(kwargs=kwargs).result == "pending_payment"
    # Two deliveries racing each other still write one order.
    voucher2 = SeckillVoucherFactory(stock=5, per_user_limit=3)
    order2 = voucher_purchase(voucher_id=voucher2.pk, user=UserFactory()).order
    (user2, ms2) = gate.pending_entries(voucher2.pk)[str(order2.pk)]
    kw2 = {"order_id": str(order2.pk), "voucher_id": voucher2.pk, "user_id": user2, "accepted_ms": ms2}
    race(lambda: intake.intake_write(**kw2), [()] * 6, workers=6)
    for v in (voucher, voucher2):
        v.refresh_from_db()
        assert v.stock == 4 and Order.objects.filter(voucher=v).count() == 1
        assert gate.peek(v.pk)[1] == 4


def test_intake_retries_then_gives_up_and_the_customer_sees_why(redis_gate, queued_intake, monkeypatch, settings):
    from config.celery import app

    settings.SECKILL_INTAKE_MAX_RETRIES = 3
    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False  # let apply() run the retries
    try:
        _retries_then_give_up(monkeypatch)
    finally:
        app.conf.task_eager_propagates = before


def _retries_then_give_up(monkeypatch):
    voucher = SeckillVoucherFactory(stock=5)
    user = UserFactory()
    order = voucher_purchase(voucher_id=voucher.pk, user=user).order
    assert gate.peek(voucher.pk)[1] == 4
    (user_id, ms) = gate.pending_entries(voucher.pk)[str(order.pk)]
    calls = []

    def down(**kwargs):
        calls.append(1)
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(intake, "order_place", down)
    result = intake_order.apply(
        kwargs={"order_id": str(order.pk), "voucher_id": voucher.pk, "user_id": user_id, "accepted_ms": ms},
        throw=False,
    )
    assert len(calls) == 4  # the first try and three retries
    assert result.result == "failed"
    row = Order.objects.get(pk=order.pk)
    assert row.status == Order.Status.FAILED and row.failure_code == "intake_failed"
    assert "not charged" in row.failure_reason
    assert Alert.objects.get(kind=Alert.Kind.INTAKE_FAILED).details["order"] == str(order.pk)
    # The unit and the customer's slot are back: he can try again.
    assert gate.peek(voucher.pk)[1] == 5
    assert not gate.client().hget(gate.keys(voucher.pk).buyers, user.pk)
    monkeypatch.undo()
    from config.celery import app

    app.conf.task_always_eager = True
    again = voucher_purchase(voucher_id=voucher.pk, user=user)
    assert Order.objects.get(pk=again.order.pk).status == Order.Status.PENDING_PAYMENT


def test_intake_refusal_after_delist_is_a_failed_order_and_the_slot_comes_back(redis_gate, queued_intake):
    from coupons.services import voucher_delist

    voucher = SeckillVoucherFactory(stock=5)
    user = UserFactory()
    order = voucher_purchase(voucher_id=voucher.pk, user=user).order
    voucher_delist(voucher_id=voucher.pk)
    _drain_broker_pending(voucher)
    row = Order.objects.get(pk=order.pk)
    assert row.status == Order.Status.FAILED and row.failure_code == "not_found"
    assert gate.peek(voucher.pk)[1] == 5
    voucher.refresh_from_db()
    assert voucher.stock == 5


def test_order_accepted_just_before_the_end_is_written_after_the_end(redis_gate, queued_intake):
    voucher = SeckillVoucherFactory(stock=5)
    order = voucher_purchase(voucher_id=voucher.pk, user=UserFactory()).order
    type(voucher).objects.filter(pk=voucher.pk).update(ends_at=order.created_at + timedelta(milliseconds=1))
    time.sleep(0.01)
    _drain_broker_pending(voucher)
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT


# --- drift, release, oversell ---------------------------------------------------------------------


def test_drift_is_repaired_when_seen_twice(redis_gate):
    voucher = SeckillVoucherFactory(stock=10)
    users = make_users(3, prefix="drift")
    for u in users:
        voucher_purchase(voucher_id=voucher.pk, user=u)
    k = gate.keys(voucher.pk)
    gate.client().set(k.stock, 42)
    gate.client().hdel(k.buyers, users[0].pk)
    first = next(r for r in reconcile_all() if r["voucher"] == voucher.pk)
    assert first["gate"] == "drift seen" and gate.client().get(k.stock) == "42"
    second = next(r for r in reconcile_all() if r["voucher"] == voucher.pk)
    assert second["gate"] == "repaired"
    assert gate.client().get(k.stock) == "7"
    assert gate.client().hget(k.buyers, users[0].pk) == "1"
    assert Alert.objects.filter(voucher=voucher, kind=Alert.Kind.DRIFT).count() == 1
    third = next(r for r in reconcile_all() if r["voucher"] == voucher.pk)
    assert third["gate"] == "ok"


def test_stock_return_gives_the_unit_and_the_slot_back_to_the_gate(redis_gate):
    from django.db import transaction

    from coupons.services import voucher_return_unit

    voucher = SeckillVoucherFactory(stock=2)
    user = UserFactory()
    order = voucher_purchase(voucher_id=voucher.pk, user=user).order
    assert gate.peek(voucher.pk)[1] == 1
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED, stock_released=True)
        voucher_return_unit(voucher_id=voucher.pk, user_id=user.pk, order_id=order.pk)
        assert gate.peek(voucher.pk)[1] == 1  # only after the commit
    assert gate.peek(voucher.pk)[1] == 2
    assert voucher_purchase(voucher_id=voucher.pk, user=user).accepted_async
    report = next(r for r in reconcile_all(repair_now=True) if r["voucher"] == voucher.pk)
    assert report["gate"] == "ok"


def test_oversell_is_detected_alerted_mailed_and_logged(db_gate, caplog):
    operator = OperatorFactory(user__email="boss@example.com")
    OperatorFactory(organization=operator.organization, user__email="")
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=2)
    users = make_users(2, prefix="ok")
    for u in users:
        voucher_purchase(voucher_id=voucher.pk, user=u)
    # A bug elsewhere (or a hand edit) put a third live order on two units:
    extra = OrderFactory(voucher=voucher, user=UserFactory())
    with caplog.at_level(logging.ERROR, logger="parkmarket.coupons"):
        report = next(r for r in reconcile_all() if r["voucher"] == voucher.pk)
    assert report["oversell"] == 1
    alert = Alert.objects.get(kind=Alert.Kind.OVERSELL, voucher=voucher)
    assert alert.organization == operator.organization
    assert str(extra.pk) in alert.details["excess_orders"]
    assert len(alert.details["orders"]) == 3
    assert [m.to for m in mail.outbox] == [["boss@example.com"]]
    assert "OVERSELL" in mail.outbox[0].body or "Oversell" in mail.outbox[0].subject
    assert any("kind=oversell" in r.getMessage() for r in caplog.records)
    reconcile_all()  # the same finding is not raised twice
    assert Alert.objects.filter(kind=Alert.Kind.OVERSELL).count() == 1


def test_reconcile_command_prints_one_line_per_voucher(redis_gate):
    from io import StringIO

    from django.core.management import call_command

    SeckillVoucherFactory(stock=3)
    out = StringIO()
    call_command("reconcile_seckill", "--repair-now", stdout=out)
    assert "no oversell" in out.getvalue()


def test_batched_intake_writes_a_burst_in_one_go_and_explains_refusals_one_by_one(redis_gate, queued_intake):
    from seckill.tasks import intake_orders

    voucher = SeckillVoucherFactory(stock=10)
    users = make_users(12, prefix="burst")
    for u in users[:10]:
        voucher_purchase(voucher_id=voucher.pk, user=u)
    batch = [
        {"order_id": oid, "voucher_id": voucher.pk, "user_id": uid, "accepted_ms": ms}
        for oid, (uid, ms) in gate.pending_entries(voucher.pk).items()
    ]
    assert intake.intake_write_batch(batch[:4]) == 4
    # A redelivery overlapping the first batch, plus the rest: the written ones are only tidied.
    assert intake_orders.apply(kwargs={"orders": batch}).result == 6
    voucher.refresh_from_db()
    assert voucher.stock == 0 and _live(voucher) == 10
    assert not gate.client().hlen(gate.keys(voucher.pk).pending)
    # The gate drifted (two extra units): the batch cannot take its units at once, so each order
    # is decided on its own and the extras fail as sold out, with the customer's slot back.
    k = gate.keys(voucher.pk)
    gate.client().set(k.stock, 2)
    for u in users[10:]:
        voucher_purchase(voucher_id=voucher.pk, user=u)
    extra = [
        {"order_id": oid, "voucher_id": voucher.pk, "user_id": uid, "accepted_ms": ms}
        for oid, (uid, ms) in gate.pending_entries(voucher.pk).items()
    ]
    assert intake.intake_write_batch(extra) == 0
    failed = Order.objects.filter(voucher=voucher, status=Order.Status.FAILED)
    assert failed.count() == 2 and {o.failure_code for o in failed} == {"sold_out"}
    assert _live(voucher) == 10
    assert not gate.client().hget(k.buyers, users[10].pk)


def test_dispatcher_batches_accepted_orders_off_the_request_thread(redis_gate, queued_intake, monkeypatch):
    from seckill import dispatch
    from seckill.tasks import intake_orders

    sent = []
    monkeypatch.setattr(intake_orders, "apply_async", lambda kwargs, **kw: sent.append(kwargs["orders"]))
    voucher = SeckillVoucherFactory(stock=50)
    for u in make_users(30, prefix="disp"):
        voucher_purchase(voucher_id=voucher.pk, user=u)
    assert dispatch.flush(timeout=5)
    assert sum(len(b) for b in sent) == 30
    assert {o["order_id"] for b in sent for o in b} == set(gate.pending_entries(voucher.pk))
    assert dispatch.pending_in_process() == 0


# --- the gate's rules against the database's --------------------------------------------------------


def test_a_load_from_a_read_taken_before_a_delist_does_not_reopen_the_sale(redis_gate):
    """A loader read the voucher while listed; the delist commits and syncs the gate; then the
    loader writes its (stale) rules. The gate must still say delisted."""
    from config.errors import DomainError
    from coupons.models import Voucher
    from coupons.services import voucher_delist

    voucher = SeckillVoucherFactory(stock=5)
    stale = Voucher.objects.get(pk=voucher.pk)
    voucher_delist(voucher_id=voucher.pk)
    gate.gate_load(stale)
    assert gate.peek(voucher.pk)[0]["status"] == "delisted"
    with pytest.raises(DomainError) as exc:
        voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    assert exc.value.code == "not_found"
    assert not gate.pending_entries(voucher.pk)


def test_reconciliation_pushes_a_delist_the_gate_missed(redis_gate):
    """The delist's sync of the gate was lost (Redis unreachable at that moment): the gate still
    says listed and accepts orders the intake can only fail. The reconciliation pushes the rules
    of every voucher it audits, not only listed ones."""
    from coupons.models import Voucher

    voucher = SeckillVoucherFactory(stock=5)
    gate.gate_load(voucher)
    Voucher.objects.filter(pk=voucher.pk).update(status=Voucher.Status.DELISTED)  # sync lost
    assert gate.peek(voucher.pk)[0]["status"] == "listed"
    reconcile_all()
    assert gate.peek(voucher.pk)[0]["status"] == "delisted"


def test_dispatcher_flush_waits_for_the_batch_in_flight(redis_gate, queued_intake, monkeypatch):
    """flush() (called at exit and by the tests' teardown) returns only once every queued order
    was handed to Celery, including a batch the thread already took off the queue."""
    import threading

    from seckill import dispatch
    from seckill.tasks import intake_orders

    release, taken, sent = threading.Event(), threading.Event(), []

    def slow_publish(kwargs, **kw):
        taken.set()
        assert release.wait(10)
        sent.extend(kwargs["orders"])

    monkeypatch.setattr(intake_orders, "apply_async", slow_publish)
    voucher = SeckillVoucherFactory(stock=5)
    for u in make_users(3, prefix="flush"):
        voucher_purchase(voucher_id=voucher.pk, user=u)
    assert taken.wait(10)
    assert not dispatch.flush(timeout=0.05)
    release.set()
    assert dispatch.flush(timeout=10)
    assert len(sent) == 3


def test_the_gate_repair_applies_only_to_the_state_it_observed(redis_gate):
    """Between the reconciliation's read and its repair, one customer buys and another's order is
    cancelled: the stock and the counts are back where they were, the buyers are not. The
    compare-and-set must refuse (writing the observed buyers back would forget the new buyer and
    let the gate accept them twice); on an unchanged gate it applies."""
    from django.db import transaction

    from coupons.services import voucher_return_unit
    from seckill.reconcile import _snapshot

    voucher = SeckillVoucherFactory(stock=10)
    first, second = make_users(2, prefix="aba")
    order = voucher_purchase(voucher_id=voucher.pk, user=first).order
    stock, pending, buyers = _snapshot(voucher.pk)
    assert stock == "9" and buyers == {str(first.pk): "1"} and not pending

    voucher_purchase(voucher_id=voucher.pk, user=second)
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED, stock_released=True)
        voucher_return_unit(voucher_id=voucher.pk, user_id=first.pk, order_id=order.pk)
    assert gate.peek(voucher.pk)[1] == 9 and not gate.pending_entries(voucher.pk)

    stale = dict(observed_stock=stock, observed_buyers=buyers, observed_pending=list(pending))
    assert not gate.gate_repair(voucher_id=voucher.pk, **stale, stock=9, buyers={first.pk: 1})
    k = gate.keys(voucher.pk)
    assert gate.client().hgetall(k.buyers) == {str(second.pk): "1"}

    stock, pending, buyers = _snapshot(voucher.pk)
    now = dict(observed_stock=stock, observed_buyers=buyers, observed_pending=list(pending))
    assert gate.gate_repair(voucher_id=voucher.pk, **now, stock=8, buyers={second.pk: 1})
    assert gate.peek(voucher.pk)[1] == 8
    assert not gate.gate_repair(voucher_id=voucher.pk, **now, stock=7, buyers={second.pk: 1})  # stock moved


def test_the_intake_writes_a_batch_of_two_sales_with_one_query(
    redis_gate, queued_intake, django_assert_num_queries, monkeypatch
):
    """A batch is one call of the database's batch function, whatever its size and vouchers, and
    one Redis round trip to tidy the gate; the lag of every order is observed."""
    from config import metrics

    a, b = SeckillVoucherFactory(stock=30), SeckillVoucherFactory(stock=30)
    users = make_users(40, prefix="onecall")
    for i, u in enumerate(users):
        voucher_purchase(voucher_id=(a if i % 2 else b).pk, user=u)
    batch = [
        {"order_id": oid, "voucher_id": v.pk, "user_id": uid, "accepted_ms": ms}
        for v in (a, b)
        for oid, (uid, ms) in gate.pending_entries(v.pk).items()
    ]
    lags = []
    monkeypatch.setattr(metrics.intake_lag, "observe", lags.append)
    with django_assert_num_queries(1):
        assert intake.intake_write_batch(batch) == 40
    assert len(lags) == 40
    for v in (a, b):
        v.refresh_from_db()
        assert v.stock == 10 and _live(v) == 20
        assert not gate.client().hlen(gate.keys(v.pk).pending)
