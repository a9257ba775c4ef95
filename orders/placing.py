"""Placing orders: the database gate. A purchase takes its unit (coupons.voucher_take_units) and
writes its order and event in one transaction; the flash-sale intake writes accepted orders here
too, one by one or in batches, and records the ones the database refuses as `failed`.

Lock order: the order row is inserted (no lock on other orders), then the voucher's row is locked
by the conditional UPDATE until the commit; nothing else is locked, so a purchase never waits on an
order transition in a cycle."""

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_noop

from config import metrics
from config.errors import DomainError
from coupons.models import Voucher
from coupons.services import voucher_take_units

from .limits import purchase_rules_check
from .models import Order, OrderEvent
from .services import event_of

S = Order.Status


def _check_window(voucher: Voucher, at: datetime) -> None:
    if voucher.status != Voucher.Status.LISTED:
        raise DomainError("not_found", gettext_noop("This voucher is not on sale."), status=404)
    if voucher.begins_at and at < voucher.begins_at:
        raise DomainError("not_started", details={"begins_at": voucher.begins_at.isoformat()})
    if voucher.ends_at and at >= voucher.ends_at:
        raise DomainError("ended", details={"ended_at": voucher.ends_at.isoformat()})


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
    rules (orders/limits.py) are checked first."""
    voucher = Voucher.objects.filter(pk=voucher_id, status=Voucher.Status.LISTED).first()
    if voucher is None:
        raise DomainError("not_found", gettext_noop("This voucher is not on sale."), status=404)
    purchase_rules_check(voucher=voucher, user=user)
    return order_place(voucher=voucher, user_id=user.pk)


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
