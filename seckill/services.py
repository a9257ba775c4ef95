"""The purchase path. `voucher_purchase` is the one entry point for the API and the pages.

Database gate (the authority in every mode): inside one transaction, a conditional UPDATE takes a
unit of stock (and with it the voucher's row lock, which serialises buyers of one voucher), the
per-user limit is counted under that lock, and the order is inserted; the partial unique constraint
on (user, voucher) over live orders is the last line of defence for limit-1 vouchers.

Redis gate (SECKILL_GATE=redis, flash sales): one Lua script checks the window, the stock and the
buyer's count, takes the unit and records the pending order, atomically; the answer is 202 with an
order id that GET /orders/{id} already knows (`processing`). The intake task then writes the order
through the database gate, idempotently by order id (`intake_write`), or gives the unit back and
writes the order as `failed` with the reason (`intake_give_up`)."""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from config.errors import DomainError
from coupons.models import Voucher
from orders.ids import new_order_id
from orders.limits import purchase_rules_check
from orders.models import Order, OrderEvent

from . import gate

log = logging.getLogger("parkmarket.seckill")


@dataclass(frozen=True)
class PurchaseResult:
    order: Order
    accepted_async: bool  # True: the Redis gate accepted it, the intake writes it (HTTP 202)


def _check_window(voucher: Voucher, now) -> None:
    if voucher.status != Voucher.Status.LISTED:
        raise DomainError("not_found", "This voucher is not on sale.", status=404)
    if voucher.begins_at and now < voucher.begins_at:
        raise DomainError("not_started", details={"begins_at": voucher.begins_at.isoformat()})
    if voucher.ends_at and now >= voucher.ends_at:
        raise DomainError("ended", details={"ended_at": voucher.ends_at.isoformat()})


def _limit_error(voucher: Voucher, held: int) -> DomainError:
    if voucher.per_user_limit == 1:
        return DomainError("already_purchased")
    return DomainError(
        "purchase_limit_reached",
        details={"limit": voucher.per_user_limit, "held": held, "reason": "per_user_limit"},
    )


def live_orders_count(*, user_id: int, voucher_id: int) -> int:
    return Order.objects.filter(user_id=user_id, voucher_id=voucher_id, status__in=Order.LIVE).count()


def _take_units(voucher: Voucher, n: int = 1) -> tuple | None:
    """The conditional UPDATE that takes units (and the voucher's row lock until commit):
    `stock = stock - n WHERE stock >= n AND status = 'listed'`, returning the stock left and the
    low-stock fields so the crossing is known from the same statement. None when there is not
    enough stock or the voucher is no longer listed: the status is judged on the row the UPDATE
    locks (READ COMMITTED re-reads it after waiting), not on the caller's earlier read, so a
    purchase queued behind a delist takes nothing once the delist commits."""
    qn = connection.ops.quote_name
    table = qn(Voucher._meta.db_table)
    stock, sold, status = qn("stock"), qn("sold_count"), qn("status")
    if voucher.stock is None:
        taking = f"{sold} = {sold} + %s WHERE id = %s AND {status} = %s"
        params = [n, voucher.pk, Voucher.Status.LISTED]
    else:
        taking = f"{stock} = {stock} - %s, {sold} = {sold} + %s WHERE id = %s AND {status} = %s AND {stock} >= %s"
        params = [n, n, voucher.pk, Voucher.Status.LISTED, n]
    sql = f"UPDATE {table} SET {taking} RETURNING {stock}, {qn('low_stock_threshold')}, {qn('low_stock_alerted_at')}"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


def _no_unit(voucher_id: int) -> DomainError:
    """Why the conditional UPDATE took nothing: the voucher left the sale, or its stock ran out."""
    if not Voucher.objects.filter(pk=voucher_id, status=Voucher.Status.LISTED).exists():
        return DomainError("not_found", "This voucher is not on sale.", status=404)
    return DomainError("sold_out")


def _note_low_stock(voucher: Voucher, row: tuple) -> None:
    left, threshold, alerted_at = row
    if left is not None and threshold and left <= threshold and alerted_at is None:
        from coupons.services import low_stock_note

        low_stock_note(voucher_id=voucher.pk)


def purchase_through_database(
    *,
    voucher: Voucher,
    user_id: int,
    order_id: uuid.UUID | None = None,
    actor_id: int | None = None,
    accepted_at: datetime | None = None,
    gate_name: str = "db",
    check_first: bool = True,
) -> Order:
    """Take one unit and write the order, atomically. Raises DomainError (sold_out,
    already_purchased, purchase_limit_reached, not_started, ended). `accepted_at` is when the
    Redis gate accepted the order: the window is judged at that moment, not at intake time.

    The order rows are inserted first and the unit is taken last, so the voucher's row lock (the
    point every buyer of this voucher queues on) is held only from the UPDATE to the COMMIT. The
    same customer racing with himself: limit 1 is the partial unique index (a second insert waits
    for the first transaction and fails); a larger limit is counted after the UPDATE, under the lock,
    in a fresh READ COMMITTED snapshot that sees every order committed before the lock was granted."""
    now = timezone.now()
    _check_window(voucher, accepted_at or now)
    if voucher.stock is not None and voucher.stock <= 0 and check_first:
        raise DomainError("sold_out")  # the caller's read says so: no transaction for it
    if check_first and voucher.per_user_limit > 1:
        # Friendly early answer; the authoritative count happens under the row lock below. (Limit
        # 1 needs no early read: the partial unique index refuses the insert just as early.)
        held = live_orders_count(user_id=user_id, voucher_id=voucher.pk)
        if held >= voucher.per_user_limit:
            raise _limit_error(voucher, held)
    order = Order(
        user_id=user_id,
        voucher=voucher,
        organization_id=voucher.organization_id,
        status=Order.Status.PENDING_PAYMENT,
        amount=voucher.price,
        single_slot=voucher.per_user_limit == 1,
        created_at=accepted_at or now,
        expires_at=now + timedelta(seconds=voucher.payment_window_seconds),
        gate=gate_name,
    )
    if order_id is not None:
        order.id = order_id
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            OrderEvent.objects.create(
                order=order,
                from_status="processing" if gate_name == "redis" else "",
                to_status=order.status,
                actor_id=actor_id or user_id,
                reason="purchased",
            )
            row = _take_units(voucher, 1)
            if row is None:
                raise _no_unit(voucher.pk)
            if voucher.per_user_limit > 1:
                held = live_orders_count(user_id=user_id, voucher_id=voucher.pk)  # this order included
                if held > voucher.per_user_limit:
                    raise _limit_error(voucher, held - 1)
            _note_low_stock(voucher, row)
    except IntegrityError as exc:
        # The unique constraint: the same customer won a race with himself. PostgreSQL names the
        # constraint; SQLite only lists its columns ("UNIQUE constraint failed: orders_order.user_id,
        # orders_order.voucher_id"), so the committed order that holds the slot is looked up.
        if "order_one_live_per_user_voucher" in str(exc) or _holds_the_slot(user_id, voucher.pk, order.pk):
            raise DomainError("already_purchased") from exc
        raise
    return order


def _holds_the_slot(user_id: int, voucher_id: int, order_id: uuid.UUID) -> bool:
    return (
        Order.objects.filter(user_id=user_id, voucher_id=voucher_id, single_slot=True, status__in=Order.LIVE)
        .exclude(pk=order_id)
        .exists()
    )


# --- the Redis gate -------------------------------------------------------------------------------


def _epoch_ms(ms: str) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC) if ms else None


def voucher_from_meta(meta: dict[str, str]) -> Voucher:
    """An unsaved Voucher carrying the sale's rules from the gate's meta (no database read)."""
    return Voucher(
        pk=int(meta["id"]),
        organization_id=int(meta["org"]),
        lot_id=int(meta["lot"]) if meta.get("lot") else None,
        title=meta.get("title", ""),
        kind=meta["kind"],
        status=meta["status"],
        price=int(meta["price"]),
        begins_at=_epoch_ms(meta.get("begins", "")),
        ends_at=_epoch_ms(meta.get("ends", "")),
        per_user_limit=int(meta["limit"]),
        payment_window_seconds=int(meta.get("window") or 900),
        low_stock_threshold=int(meta.get("threshold") or 0),
    )


_REFUSALS = {
    gate.SOLD_OUT: "sold_out",
    gate.NOT_STARTED: "not_started",
    gate.ENDED: "ended",
}


def _refuse(code: int, n: int, voucher: Voucher) -> DomainError:
    if code == gate.LIMIT:
        return _limit_error(voucher, n)
    if code == gate.NOT_ON_SALE:
        return DomainError("not_found", "This voucher is not on sale.", status=404)
    name = _REFUSALS[code]
    if name == "not_started":
        return DomainError(name, details={"begins_at": voucher.begins_at.isoformat()})
    if name == "ended":
        return DomainError(name, details={"ended_at": voucher.ends_at.isoformat()})
    return DomainError(name)


def _precheck(meta: dict[str, str], stock: int, voucher: Voucher, now_ms: int) -> None:
    """The answers the gate would give, from the peek alone: sold-out and window refusals never
    reach the database (nor the organization's purchase rules)."""
    if meta["status"] != Voucher.Status.LISTED:
        raise _refuse(gate.NOT_ON_SALE, 0, voucher)
    if meta.get("begins") and now_ms < int(meta["begins"]):
        raise _refuse(gate.NOT_STARTED, 0, voucher)
    if meta.get("ends") and now_ms >= int(meta["ends"]):
        raise _refuse(gate.ENDED, 0, voucher)
    if stock <= 0:
        raise _refuse(gate.SOLD_OUT, 0, voucher)


def _load_from_database(voucher_id: int) -> Voucher | None:
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is not None and voucher.kind == Voucher.Kind.SECKILL and voucher.status == Voucher.Status.LISTED:
        gate.gate_load(voucher)
    return voucher


def purchase_through_redis(*, meta: dict[str, str], stock: int, user: AbstractBaseUser) -> Order:
    voucher = voucher_from_meta(meta)
    now_ms = int(time.time() * 1000)
    _precheck(meta, stock, voucher, now_ms)
    purchase_rules_check(voucher=voucher, user=user)
    order_id = new_order_id()
    code, n = gate.take_and_index(voucher_id=voucher.pk, user_id=user.pk, order_id=order_id, now_ms=now_ms)
    if code == gate.NOT_LOADED:  # flushed or evicted since the peek
        _load_from_database(voucher.pk)
        code, n = gate.take_and_index(voucher_id=voucher.pk, user_id=user.pk, order_id=order_id, now_ms=now_ms)
        if code == gate.NOT_LOADED:
            raise DomainError("not_found", "This voucher is not on sale.", status=404)
    if code != gate.OK:
        raise _refuse(code, n, voucher)
    from . import dispatch

    dispatch.submit({"order_id": str(order_id), "voucher_id": voucher.pk, "user_id": user.pk, "accepted_ms": now_ms})
    accepted_at = _epoch_ms(str(now_ms))
    return Order(
        id=order_id,
        user_id=user.pk,
        voucher_id=voucher.pk,
        organization_id=voucher.organization_id,
        status=Order.Status.PROCESSING,
        amount=voucher.price,
        single_slot=voucher.per_user_limit == 1,
        gate="redis",
        created_at=accepted_at,
        expires_at=None,
    )


def voucher_purchase(
    *,
    voucher_id: int,
    user: AbstractBaseUser,
    idempotency_key: str | None = None,
    peeked: tuple[dict, int | None] | None = None,
) -> PurchaseResult:
    """Buy one unit of a voucher for `user`: 201-style (written) through the database gate, or
    202-style (accepted, `processing`) through the Redis gate for flash sales when it is on.
    `peeked` is the gate's (meta, stock) when the caller already read it (the API's throttle
    reads it in the same round trip)."""
    voucher = None
    if gate.enabled():
        meta, stock = peeked if peeked is not None else gate.peek(voucher_id)
        if not meta or stock is None:
            voucher = _load_from_database(voucher_id)
            if voucher is None:
                raise DomainError("not_found", "This voucher is not on sale.", status=404)
            if voucher.kind == Voucher.Kind.SECKILL and voucher.status == Voucher.Status.LISTED:
                meta, stock = gate.peek(voucher_id)
        if meta and stock is not None and meta.get("kind") == Voucher.Kind.SECKILL:
            order = purchase_through_redis(meta=meta, stock=stock, user=user)
            return PurchaseResult(order=order, accepted_async=True)
    if voucher is None:
        voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None or voucher.status != Voucher.Status.LISTED:
        raise DomainError("not_found", "This voucher is not on sale.", status=404)
    purchase_rules_check(voucher=voucher, user=user)
    order = purchase_through_database(voucher=voucher, user_id=user.pk)
    return PurchaseResult(order=order, accepted_async=False)


# --- intake: accepted orders into the database -----------------------------------------------------


def _failed_order(
    *, order_id: uuid.UUID, voucher: Voucher, user_id: int, accepted_at: datetime, code: str, reason: str
) -> Order:
    """Write the order as failed (idempotent by id). Returns the row, failed or not."""
    try:
        with transaction.atomic():
            order = Order(
                id=order_id,
                user_id=user_id,
                voucher=voucher,
                organization_id=voucher.organization_id,
                status=Order.Status.FAILED,
                amount=voucher.price,
                single_slot=voucher.per_user_limit == 1,
                created_at=accepted_at,
                gate="redis",
                failure_code=code,
                failure_reason=reason,
            )
            order.save(force_insert=True)
            OrderEvent.objects.create(
                order=order, from_status="processing", to_status=order.status, actor_id=None, reason=f"intake: {code}"
            )
    except IntegrityError:
        return Order.objects.get(pk=order_id)
    return order


def intake_write(*, order_id: str, voucher_id: int, user_id: int, accepted_ms: int) -> Order:
    """Write an order the Redis gate accepted. Idempotent by order id: a second run (a redelivered
    task, a re-enqueue by the reconciliation) finds the row and only tidies the gate. A refusal of
    the database gate (sold out because the gate drifted, limit, window, delisted) is final: the
    order is written as failed with the reason and the buyer's slot goes back to the gate.
    Other exceptions (database unavailable, ...) propagate so the task retries."""
    oid = uuid.UUID(str(order_id))
    accepted_at = _epoch_ms(str(accepted_ms))
    existing = Order.objects.filter(pk=oid).first()
    if existing is not None:
        _tidy(existing, voucher_id=voucher_id, user_id=user_id)
        return existing
    voucher = Voucher.objects.get(pk=voucher_id)
    try:
        order = purchase_through_database(
            voucher=voucher, user_id=user_id, order_id=oid, accepted_at=accepted_at, gate_name="redis"
        )
    except DomainError as exc:
        order = _failed_order(
            order_id=oid, voucher=voucher, user_id=user_id, accepted_at=accepted_at, code=exc.code, reason=exc.message
        )
        _tidy(order, voucher_id=voucher_id, user_id=user_id)
        log.warning("seckill intake refused order=%s voucher=%s code=%s", oid, voucher_id, exc.code)
        return order
    except IntegrityError:
        # Another delivery of the same order won (primary key): the order is written.
        order = Order.objects.filter(pk=oid).first()
        if order is None:
            raise
    _tidy(order, voucher_id=voucher_id, user_id=user_id)
    return order


def intake_write_batch(orders: list[dict]) -> int:
    """Write many accepted orders, one transaction per voucher: the orders and their events are
    inserted, then one conditional UPDATE takes all their units (`stock >= n`), so a burst costs
    one commit instead of one per order. Anything unusual in a group (already written, a refusal,
    a constraint) sends that group through `intake_write` one order at a time, where each outcome
    is decided and explained on its own. Returns how many orders the batch path wrote."""
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
        try:
            _write_group(voucher, group)
        except (DomainError, IntegrityError) as exc:
            log.info("seckill intake batch of %s for voucher=%s goes one by one: %s", len(group), voucher_id, exc)
            for o in group:
                intake_write(**o)
            continue
        written += len(group)
        gate.gate_done_many([(voucher_id, o["order_id"]) for o in group])
    return written


def _write_group(voucher: Voucher, group: list[dict]) -> None:
    now = timezone.now()
    rows, events = [], []
    for o in group:
        accepted_at = _epoch_ms(str(o["accepted_ms"]))
        _check_window(voucher, accepted_at)
        order = Order(
            id=uuid.UUID(str(o["order_id"])),
            user_id=int(o["user_id"]),
            voucher=voucher,
            organization_id=voucher.organization_id,
            status=Order.Status.PENDING_PAYMENT,
            amount=voucher.price,
            single_slot=voucher.per_user_limit == 1,
            created_at=accepted_at,
            expires_at=now + timedelta(seconds=voucher.payment_window_seconds),
            gate="redis",
        )
        rows.append(order)
        events.append(
            OrderEvent(
                order=order,
                from_status="processing",
                to_status=order.status,
                actor_id=order.user_id,
                reason="purchased",
            )
        )
    with transaction.atomic():
        Order.objects.bulk_create(rows)
        OrderEvent.objects.bulk_create(events)
        row = _take_units(voucher, len(rows))
        if row is None:
            raise DomainError("sold_out")
        if voucher.per_user_limit > 1:
            users = {r.user_id for r in rows}
            over = (
                Order.objects.filter(voucher_id=voucher.pk, user_id__in=users, status__in=Order.LIVE)
                .values("user_id")
                .annotate(n=Count("id"))
                .filter(n__gt=voucher.per_user_limit)
            )
            if over.exists():
                raise DomainError("purchase_limit_reached")
        _note_low_stock(voucher, row)


def _tidy(order: Order, *, voucher_id: int, user_id: int) -> None:
    if order.status == Order.Status.FAILED:
        # The database never took the unit unless it said sold out (then the gate was over).
        gate.gate_give_back(
            voucher_id=voucher_id, user_id=user_id, order_id=order.pk, unit=order.failure_code != "sold_out"
        )
    else:
        gate.gate_done(voucher_id=voucher_id, order_id=order.pk)


def intake_give_up(*, order_id: str, voucher_id: int, user_id: int, accepted_ms: int, reason: str) -> Order:
    """After the last retry: write the order as failed (the customer sees why), give the unit
    and the slot back to the gate. Idempotent: an order that got written meanwhile stays."""
    oid = uuid.UUID(str(order_id))
    voucher = Voucher.objects.get(pk=voucher_id)
    order = _failed_order(
        order_id=oid,
        voucher=voucher,
        user_id=user_id,
        accepted_at=_epoch_ms(str(accepted_ms)),
        code="intake_failed",
        reason=f"Your order could not be recorded; you were not charged. ({reason[:200]})",
    )
    _tidy(order, voucher_id=voucher_id, user_id=user_id)
    log.error("seckill intake gave up order=%s voucher=%s reason=%s", oid, voucher_id, reason)
    if order.status == Order.Status.FAILED and order.failure_code == "intake_failed":
        from coupons.models import Alert
        from coupons.services import alert_raise

        alert_raise(
            organization_id=voucher.organization_id,
            voucher_id=voucher.pk,
            kind=Alert.Kind.INTAKE_FAILED,
            message=f"An accepted order of “{voucher.title}” could not be written and was cancelled: {reason[:200]}",
            details={"order": str(oid), "user": user_id, "reason": reason[:500]},
        )
    return order
