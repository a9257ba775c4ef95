"""The intake: orders the Redis gate accepted, written to the database through the orders app's
database gate (`orders.services.order_place` / `orders_place_batch`), idempotently by order id.

A refusal of the database gate (sold out because the gate drifted, limit, window, delisted) is
final: the order is written `failed` with its code (`orders.services.order_record_failed`) and the
buyer's slot goes back to the gate. Other exceptions (database unavailable, ...) propagate, so the
task retries; after the last retry `intake_give_up` writes the order failed and alerts the
organization."""

import logging
import time
import uuid

from django.db import IntegrityError

from config import metrics
from config.errors import DomainError
from coupons.models import Alert, Voucher
from coupons.services import alert_raise
from orders.models import Order
from orders.placing import order_place, order_record_failed, orders_place_accepted, orders_place_batch, sql_gate

from . import gate
from .purchase import epoch_ms_to_datetime

log = logging.getLogger("parkmarket.seckill")


def gate_tidy(order: Order, *, voucher_id: int, user_id: int) -> None:
    """A written order leaves the gate's pending set; a failed one gives its slot (and its unit,
    unless the database said sold out: then the gate had one too many) back, once."""
    if order.status == Order.Status.FAILED:
        gate.gate_give_back(
            voucher_id=voucher_id, user_id=user_id, order_id=order.pk, unit=order.failure_code != "sold_out"
        )
    else:
        gate.gate_done(voucher_id=voucher_id, order_id=order.pk)


def intake_write(*, order_id: str, voucher_id: int, user_id: int, accepted_ms: int) -> Order:
    """Write an order the Redis gate accepted. Idempotent by order id: a second run (a redelivered
    task, a re-enqueue by the reconciliation) finds the row and only tidies the gate."""
    oid = uuid.UUID(str(order_id))
    accepted_at = epoch_ms_to_datetime(accepted_ms)
    existing = Order.objects.filter(pk=oid).first()
    if existing is not None:
        gate_tidy(existing, voucher_id=voucher_id, user_id=user_id)
        return existing
    voucher = Voucher.objects.get(pk=voucher_id)
    try:
        order = order_place(
            voucher=voucher, user_id=user_id, order_id=oid, accepted_at=accepted_at, accepted_by="redis"
        )
    except DomainError as exc:
        order = order_record_failed(
            order_id=oid, voucher=voucher, user_id=user_id, accepted_at=accepted_at, code=exc.code, reason=exc.message
        )
        gate_tidy(order, voucher_id=voucher_id, user_id=user_id)
        log.warning("seckill intake refused order=%s voucher=%s code=%s", oid, voucher_id, exc.code)
        return order
    except IntegrityError:
        # Another delivery of the same order won (primary key): the order is written.
        order = Order.objects.filter(pk=oid).first()
        if order is None:
            raise
    else:
        _lag(accepted_ms)
    gate_tidy(order, voucher_id=voucher_id, user_id=user_id)
    return order


def _lag(*accepted_ms: int) -> None:
    """The intake lag of orders just written: from the gate's acceptance to now (after the commit)."""
    now_ms = time.time() * 1000
    for ms in accepted_ms:
        metrics.intake_lag.observe(max(0.0, (now_ms - int(ms)) / 1000))


def intake_write_batch(orders: list[dict]) -> int:
    """Write many accepted orders. On PostgreSQL the whole batch is one call of the orders' batch
    function (one round trip, whatever the number of orders and vouchers); elsewhere one
    transaction per voucher (`orders_place_batch`). Orders written before (a redelivery) only tidy
    the gate; anything unusual in a voucher's group (a refusal, a constraint) sends that group
    through `intake_write` one order at a time, where each outcome is decided and explained on its
    own. Returns how many orders the batch path wrote."""
    if sql_gate():
        return _intake_write_batch_sql(orders)
    ids = [uuid.UUID(str(o["order_id"])) for o in orders]
    existing = set(Order.objects.filter(pk__in=ids).values_list("id", flat=True))
    groups: dict[int, list[dict]] = {}
    for o in orders:
        if uuid.UUID(str(o["order_id"])) in existing:
            intake_write(**o)  # tidies the gate for a row written before
        else:
            groups.setdefault(int(o["voucher_id"]), []).append(o)
    written = 0
    for voucher_id, group in groups.items():
        voucher = Voucher.objects.get(pk=voucher_id)
        accepted = [
            (uuid.UUID(str(o["order_id"])), int(o["user_id"]), epoch_ms_to_datetime(o["accepted_ms"])) for o in group
        ]
        try:
            orders_place_batch(voucher=voucher, accepted=accepted)
        except (DomainError, IntegrityError) as exc:
            log.info("seckill intake batch of %s for voucher=%s goes one by one: %s", len(group), voucher_id, exc)
            for o in group:
                intake_write(**o)
            continue
        written += len(group)
        _lag(*(o["accepted_ms"] for o in group))
        gate.gate_done_many([(voucher_id, o["order_id"]) for o in group])
    return written


def _intake_write_batch_sql(orders: list[dict]) -> int:
    by_id = {str(o["order_id"]): o for o in orders}
    outcomes = orders_place_accepted(
        order_ids=list(by_id),
        voucher_ids=[int(o["voucher_id"]) for o in by_id.values()],
        user_ids=[int(o["user_id"]) for o in by_id.values()],
        accepted_ms=[int(o["accepted_ms"]) for o in by_id.values()],
    )
    done: list[tuple[int, str]] = []
    lags: list[int] = []
    single: list[dict] = []
    for order_id, voucher_id, outcome, status, failure_code in outcomes:
        o = by_id[order_id]
        if outcome == "written":
            done.append((voucher_id, order_id))
            lags.append(o["accepted_ms"])
        elif outcome == "exists":
            if status == Order.Status.FAILED:
                gate_tidy(
                    Order(pk=uuid.UUID(order_id), status=status, failure_code=failure_code or ""),
                    voucher_id=voucher_id,
                    user_id=int(o["user_id"]),
                )
            else:
                done.append((voucher_id, order_id))
        else:
            single.append(o)
    _lag(*lags)
    gate.gate_done_many(done)
    for o in single:
        log.info("seckill intake decides order=%s voucher=%s on its own", o["order_id"], o["voucher_id"])
        intake_write(**o)
    return len(lags)


def intake_give_up(*, order_id: str, voucher_id: int, user_id: int, accepted_ms: int, reason: str) -> Order:
    """After the last retry: write the order as failed (the customer sees why), give the unit
    and the slot back to the gate, alert the organization. Idempotent: an order that got written
    meanwhile stays."""
    oid = uuid.UUID(str(order_id))
    voucher = Voucher.objects.get(pk=voucher_id)
    order = order_record_failed(
        order_id=oid,
        voucher=voucher,
        user_id=user_id,
        accepted_at=epoch_ms_to_datetime(accepted_ms),
        code="intake_failed",
        reason=f"Your order could not be recorded; you were not charged. ({reason[:200]})",
    )
    gate_tidy(order, voucher_id=voucher_id, user_id=user_id)
    log.error("seckill intake gave up order=%s voucher=%s reason=%s", oid, voucher_id, reason)
    if order.status == Order.Status.FAILED and order.failure_code == "intake_failed":
        alert_raise(
            organization_id=voucher.organization_id,
            voucher_id=voucher.pk,
            kind=Alert.Kind.INTAKE_FAILED,
            message=f"An accepted order of “{voucher.title}” could not be written and was cancelled: {reason[:200]}",
            details={"order": str(oid), "user": user_id, "reason": reason[:500]},
        )
    return order
