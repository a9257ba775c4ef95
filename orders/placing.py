"""Placing orders: the database gate. A purchase takes its unit (coupons.voucher_take_units) and
writes its order and event in one transaction; the flash-sale intake writes accepted orders here
too, one by one or in batches, and records the ones the database refuses as `failed`.

On PostgreSQL the gate is one call of a server-side function (migration 0008: `orders_place_one`,
`orders_place_batch`): the checks, the INSERTs, the conditional UPDATE and (in autocommit) the
commit are one round trip, so the voucher's row lock is held only for the server's own work, not
while a Python thread waits to be scheduled again. Elsewhere (SQLite, the embedded default) the
same steps run from Python. Both answer the same DomainErrors; tests compare their rows.

Lock order: the order row is inserted (no lock on other orders), then the voucher's row is locked
by the conditional UPDATE until the commit; nothing else is locked, so a purchase never waits on an
order transition in a cycle."""

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from config import metrics
from config.errors import DomainError
from coupons.errors import sale_ended, sale_not_started, voucher_not_on_sale
from coupons.models import Voucher
from coupons.services import low_stock_claimed, voucher_take_units

from .ids import new_order_id
from .limits import purchase_rules_check
from .models import Order, OrderEvent
from .services import event_of

S = Order.Status


def _check_window(voucher: Voucher, at: datetime) -> None:
    if voucher.status != Voucher.Status.LISTED:
        raise voucher_not_on_sale()
    if voucher.begins_at and at < voucher.begins_at:
        raise sale_not_started(voucher.begins_at)
    if voucher.ends_at and at >= voucher.ends_at:
        raise sale_ended(voucher.ends_at)


def limit_error(voucher: Voucher, held: int) -> DomainError:
    """The refusal of a customer at a voucher's per-user limit."""
    if voucher.per_user_limit == 1:
        return DomainError("already_purchased")
    return DomainError(
        "purchase_limit_reached",
        details={"limit": voucher.per_user_limit, "held": held, "reason": "per_user_limit"},
    )


def live_orders_count(*, user_id: int, voucher_id: int) -> int:
    return Order.objects.filter(user_id=user_id, voucher_id=voucher_id, status__in=Order.LIVE).count()


def _new_order(
    voucher: Voucher, *, user_id: int, order_id: uuid.UUID | None, status: str, accepted_at: datetime, accepted_by: str
) -> Order:
    order = Order(
        user_id=user_id,
        voucher=voucher,
        organization_id=voucher.organization_id,
        status=status,
        amount=voucher.price,
        single_slot=voucher.per_user_limit == 1,
        created_at=accepted_at,
        accepted_by=accepted_by,
    )
    if order_id is not None:
        order.id = order_id
    return order


def _written(n: int):
    return lambda: metrics.purchases.labels("written").inc(n)


def order_place(
    *,
    voucher: Voucher,
    user_id: int,
    order_id: uuid.UUID | None = None,
    accepted_at: datetime | None = None,
    accepted_by: str = "db",
) -> Order:
    """Take one unit and write the order, atomically: the database gate. Raises DomainError
    (sold_out, already_purchased, purchase_limit_reached, not_started, ended, not_found).
    `accepted_at` is when the Redis gate accepted the order: the window is judged at that moment,
    not at intake time.

    The order row is inserted first and the unit is taken last (coupons.voucher_take_units), so the
    voucher's row lock (the point every buyer of this voucher queues on) is held only from the
    UPDATE to the COMMIT. The same customer racing with himself: limit 1 is the partial unique index
    (a second insert waits for the first transaction and fails); a larger limit is counted after the
    UPDATE, under the lock, in a fresh READ COMMITTED snapshot that sees every order committed
    before the lock was granted."""
    if sql_gate():
        return _order_place_sql(
            voucher_id=voucher.pk, user_id=user_id, order_id=order_id, accepted_at=accepted_at, accepted_by=accepted_by
        )
    return _order_place_python(
        voucher=voucher, user_id=user_id, order_id=order_id, accepted_at=accepted_at, accepted_by=accepted_by
    )


def sql_gate() -> bool:
    """True when the database gate runs as one server-side function call (PostgreSQL)."""
    return connection.vendor == "postgresql"


def _refusal(code: str, *, held: int, per_user_limit: int, begins_at, ends_at) -> DomainError:
    """The function's answer code as the Python path's DomainError."""
    if code == "not_found":
        return voucher_not_on_sale()
    if code == "not_started":
        return sale_not_started(begins_at)
    if code == "ended":
        return sale_ended(ends_at)
    if code == "limit":
        return limit_error(Voucher(per_user_limit=per_user_limit), held)
    return DomainError(code)  # sold_out, already_purchased


_PLACE_ONE = "SELECT * FROM orders_place_one(%s, %s, %s, %s, %s, %s, %s)"


def _order_place_sql(
    *, voucher_id: int, user_id: int, order_id: uuid.UUID | None, accepted_at: datetime | None, accepted_by: str
) -> Order:
    now = timezone.now()
    accepted_at = accepted_at or now
    order_id = order_id or new_order_id()
    from_status = S.PROCESSING if accepted_by == "redis" else ""
    with connection.cursor() as cur:
        cur.execute(_PLACE_ONE, [order_id, voucher_id, user_id, accepted_at, now, accepted_by, from_status])
        row = cur.fetchone()
    code, held, amount, organization_id, single_slot, per_user_limit, expires_at, begins_at, ends_at, low_stock = row
    if code != "ok":
        if code == "exists":  # this order id is written already (a redelivery): as the INSERT would say
            raise IntegrityError(f"order {order_id} exists already")
        raise _refusal(code, held=held, per_user_limit=per_user_limit, begins_at=begins_at, ends_at=ends_at)
    if low_stock:
        low_stock_claimed(voucher_id=voucher_id)
    transaction.on_commit(_written(1))
    return Order(
        id=order_id,
        user_id=user_id,
        voucher_id=voucher_id,
        organization_id=organization_id,
        status=S.PENDING_PAYMENT,
        amount=amount,
        single_slot=single_slot,
        accepted_by=accepted_by,
        created_at=accepted_at,
        updated_at=now,
        expires_at=expires_at,
    )


def _order_place_python(
    *,
    voucher: Voucher,
    user_id: int,
    order_id: uuid.UUID | None,
    accepted_at: datetime | None,
    accepted_by: str,
) -> Order:
    now = timezone.now()
    accepted_at = accepted_at or now
    _check_window(voucher, accepted_at)
    if voucher.stock is not None and voucher.stock <= 0:
        raise DomainError("sold_out")  # the caller's read says so: no transaction for it
    if voucher.per_user_limit > 1:
        # Friendly early answer; the authoritative count happens under the row lock below. (Limit
        # 1 needs no early read: the partial unique index refuses the insert just as early.)
        held = live_orders_count(user_id=user_id, voucher_id=voucher.pk)
        if held >= voucher.per_user_limit:
            raise limit_error(voucher, held)
    order = _new_order(
        voucher,
        user_id=user_id,
        order_id=order_id,
        status=S.PENDING_PAYMENT,
        accepted_at=accepted_at,
        accepted_by=accepted_by,
    )
    order.expires_at = now + timedelta(seconds=voucher.payment_window_seconds)
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            event_of(
                order, from_status=S.PROCESSING if accepted_by == "redis" else "", actor_id=user_id, reason="purchased"
            ).save()
            voucher_take_units(voucher=voucher, n=1)
            if voucher.per_user_limit > 1:
                held = live_orders_count(user_id=user_id, voucher_id=voucher.pk)  # this order included
                if held > voucher.per_user_limit:
                    raise limit_error(voucher, held - 1)
            transaction.on_commit(_written(1))
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


def order_purchase(*, voucher_id: int, user: AbstractBaseUser) -> Order:
    """A customer buys one unit of a listed voucher through the database gate (written at once):
    every normal voucher, and flash sales when the Redis gate is off. The organization's purchase
    rules (orders/limits.py) are checked first.

    On PostgreSQL the voucher is not read here: its organization and kind (which never change
    once it is listed) are remembered per process for the rules, and the function reads the row
    it locks. A purchase is then one query."""
    if sql_gate():
        voucher = _listed_voucher_rules(voucher_id)
        purchase_rules_check(voucher=voucher, user=user)
        return _order_place_sql(
            voucher_id=voucher_id, user_id=user.pk, order_id=None, accepted_at=None, accepted_by="db"
        )
    voucher = Voucher.objects.filter(pk=voucher_id, status=Voucher.Status.LISTED).first()
    if voucher is None:
        raise voucher_not_on_sale()
    purchase_rules_check(voucher=voucher, user=user)
    return order_place(voucher=voucher, user_id=user.pk)


# voucher id -> (organization id, kind) of vouchers seen listed: neither changes once published.
_voucher_rules: dict[int, tuple[int, str]] = {}
_VOUCHER_RULES_MAX = 10_000


def voucher_rules_forget() -> None:
    """Forget the remembered vouchers (tests; nothing in the product needs it)."""
    _voucher_rules.clear()


def _listed_voucher_rules(voucher_id: int) -> Voucher:
    """An unsaved Voucher with what the organization's purchase rules look at, from memory or one
    read (a voucher not listed now is 404, and is not remembered)."""
    hit = _voucher_rules.get(voucher_id)
    if hit is None:
        row = (
            Voucher.objects.filter(pk=voucher_id, status=Voucher.Status.LISTED)
            .values_list("organization_id", "kind")
            .first()
        )
        if row is None:
            raise voucher_not_on_sale()
        if len(_voucher_rules) >= _VOUCHER_RULES_MAX:
            _voucher_rules.clear()
        hit = _voucher_rules[voucher_id] = (row[0], row[1])
    return Voucher(pk=voucher_id, organization_id=hit[0], kind=hit[1])


def orders_place_batch(*, voucher: Voucher, accepted: list[tuple[uuid.UUID, int, datetime]]) -> list[Order]:
    """Write many accepted orders of one voucher (order id, user id, accepted at) in one transaction:
    the orders and their events are inserted, then one conditional UPDATE takes all their units
    (`stock >= n`), so a burst costs one commit instead of one per order. All or nothing: any
    refusal (window, stock, limit) or constraint raises, and the caller decides order by order."""
    now = timezone.now()
    rows = []
    for order_id, user_id, accepted_at in accepted:
        _check_window(voucher, accepted_at)
        order = _new_order(
            voucher,
            user_id=user_id,
            order_id=order_id,
            status=S.PENDING_PAYMENT,
            accepted_at=accepted_at,
            accepted_by="redis",
        )
        order.expires_at = now + timedelta(seconds=voucher.payment_window_seconds)
        rows.append(order)
    with transaction.atomic():
        Order.objects.bulk_create(rows)
        OrderEvent.objects.bulk_create(
            [event_of(o, from_status=S.PROCESSING, actor_id=o.user_id, reason="purchased") for o in rows]
        )
        voucher_take_units(voucher=voucher, n=len(rows))
        if voucher.per_user_limit > 1:
            over = (
                Order.objects.filter(
                    voucher_id=voucher.pk, user_id__in={o.user_id for o in rows}, status__in=Order.LIVE
                )
                .values("user_id")
                .annotate(n=Count("id"))
                .filter(n__gt=voucher.per_user_limit)
            )
            if over.exists():
                raise DomainError("purchase_limit_reached")
        transaction.on_commit(_written(len(rows)))
    return rows


def order_record_failed(
    *, order_id: uuid.UUID, voucher: Voucher, user_id: int, accepted_at: datetime, code: str, reason: str
) -> Order:
    """An order the flash-sale gate accepted and the database refused (or the intake gave up):
    written as `failed` with its code and reason, so the customer sees why. Idempotent by id: if
    the order was written meanwhile (failed or not), that row is returned unchanged."""
    order = _new_order(
        voucher, user_id=user_id, order_id=order_id, status=S.FAILED, accepted_at=accepted_at, accepted_by="redis"
    )
    order.failure_code = code
    order.failure_reason = reason
    try:
        with transaction.atomic():
            order.save(force_insert=True)
            event_of(order, from_status=S.PROCESSING, actor_id=None, reason=f"intake: {code}").save()
            transaction.on_commit(metrics.purchases.labels("failed").inc)
    except IntegrityError:
        return Order.objects.get(pk=order_id)
    return order


_PLACE_BATCH = "SELECT * FROM orders_place_batch(%s::uuid[], %s::bigint[], %s::bigint[], %s::bigint[], %s)"


def orders_place_accepted(
    *, order_ids: list[str], voucher_ids: list[int], user_ids: list[int], accepted_ms: list[int]
) -> list[tuple[str, int, str, str | None, str | None]]:
    """Write a batch of orders the flash-sale gate accepted (PostgreSQL: one call of
    `orders_place_batch`, one round trip, several vouchers at once). Answers one row per order:
    (order id, voucher id, outcome, status, failure code), the outcome being `written`, `exists`
    (written before: its status and failure code) or `single` (its voucher's group was refused as a
    whole and nothing of it was written: decide each order on its own with `order_place`)."""
    with connection.cursor() as cur:
        cur.execute(_PLACE_BATCH, [order_ids, voucher_ids, user_ids, accepted_ms, timezone.now()])
        rows = cur.fetchall()
    out = []
    written = 0
    for order_id, voucher_id, outcome, status, failure_code in rows:
        if outcome == "low_stock":
            low_stock_claimed(voucher_id=voucher_id)
            continue
        written += outcome == "written"
        out.append((str(order_id), voucher_id, outcome, status, failure_code))
    if written:
        transaction.on_commit(_written(written))
    return out
