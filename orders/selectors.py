"""Reads of orders. `order_for_customer` is the only way a view reaches one customer's order.

An order the flash-sale gate accepted exists for its customer before the intake writes its row
(`processing`). The gate is an app above this one: it registers itself as a pending-order source
when it starts, and the order reads below consult it when no row is found."""

import uuid
from collections.abc import Callable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from config.errors import DomainError

from .models import Order

# (user id, order id) -> the accepted order, unsaved, with status `processing`; or None.
PendingSource = Callable[[int, uuid.UUID], Order | None]
_pending_sources: list[PendingSource] = []


def register_pending_source(source: PendingSource) -> None:
    if source not in _pending_sources:
        _pending_sources.append(source)


def pending_order(*, user_id: int, order_id: uuid.UUID) -> Order | None:
    """The customer's accepted order the intake has not written yet, or None (another customer's
    is None too: a 404 for the caller)."""
    for source in _pending_sources:
        order = source(user_id, order_id)
        if order is not None:
            return order
    return None


def processing_order(
    *,
    order_id: uuid.UUID,
    user_id: int,
    voucher_id: int,
    organization_id: int,
    amount: int,
    single_slot: bool,
    accepted_at: datetime,
) -> Order:
    """An accepted order as the customer sees it before its row exists (never saved here: the
    intake writes it through orders.services)."""
    return Order(
        id=order_id,
        user_id=user_id,
        voucher_id=voucher_id,
        organization_id=organization_id,
        status=Order.Status.PROCESSING,
        amount=amount,
        single_slot=single_slot,
        accepted_by="redis",
        created_at=accepted_at,
        expires_at=None,
    )


def orders_of_customer(*, user: AbstractBaseUser) -> QuerySet[Order]:
    return Order.objects.filter(user_id=user.pk).select_related("voucher").order_by("-created_at", "-id")


def order_for_customer(user: AbstractBaseUser, order_id: uuid.UUID) -> Order:
    """The customer's own order, or 404 `not_found` (another customer's order does not exist for them)."""
    order = orders_of_customer(user=user).filter(pk=order_id).first()
    if order is None:
        raise DomainError("not_found", status=404)
    return order


def effective_status(order: Order, now: datetime | None = None) -> str:
    """What the customer sees: an unpaid order past its window reads `expired` even before the
    expiry task has written it."""
    if order.is_overdue(now or timezone.now()):
        return Order.Status.EXPIRED
    return order.status


def effective_status_label(order: Order, now: datetime | None = None) -> str:
    """The status the customer sees, in their language."""
    return Order.Status(effective_status(order, now)).label


def refunds_of(*, organization_id: int | None) -> QuerySet:
    """Every refund (an order's transition to `refunded`) of an organization, newest first, with
    the order, its customer and voucher; `organization_id=None` reads every organization's
    (superusers). What was given back is the order's amount."""
    from .models import OrderEvent

    # Into `refunded` from another status: a compensation credited afterwards is an event of a
    # refunded order too (refunded -> refunded), not a second refund.
    events = (
        OrderEvent.objects.filter(to_status=Order.Status.REFUNDED)
        .exclude(from_status=Order.Status.REFUNDED)
        .select_related("order__user", "order__voucher", "actor", "compensation_run")
    )
    if organization_id is not None:
        events = events.filter(order__organization_id=organization_id)
    return events.order_by("-created_at", "-id")


def refund_totals(*, organization_id: int | None, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """How many refunds and how much money went back today, over 7 and over 30 days."""
    from datetime import timedelta

    from django.db.models import Count, Sum

    now = now or timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    spans = {"today": today, "7d": now - timedelta(days=7), "30d": now - timedelta(days=30)}
    out = {}
    for key, since in spans.items():
        agg = (
            refunds_of(organization_id=organization_id)
            .filter(created_at__gte=since)
            .aggregate(n=Count("id"), total=Sum("order__amount"))
        )
        out[key] = {"count": agg["n"], "total": agg["total"] or 0}
    return out


def sales_by_day(*, organization_id: int | None, days: int = 30, today=None) -> list[dict]:
    """Coupon sales kept (orders paid and not refunded) per local day of payment, the last `days`
    days oldest first, days without sales included: `{"day", "amount", "orders"}`."""
    from datetime import datetime, timedelta

    from django.db.models import Count, Sum
    from django.db.models.functions import TruncDate

    tz = timezone.get_default_timezone()
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    orders = Order.objects.filter(status__in=(Order.Status.PAID, Order.Status.USED), paid_at__gte=since)
    if organization_id is not None:
        orders = orders.filter(organization_id=organization_id)
    rows = (
        orders.annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("day")
        .annotate(amount=Sum("amount"), orders=Count("id"))
    )
    by_day = {r["day"]: r for r in rows}
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        r = by_day.get(day, {})
        out.append({"day": day, "amount": r.get("amount") or 0, "orders": r.get("orders") or 0})
    return out


def coupons_of_customer(*, user: AbstractBaseUser, now: datetime | None = None) -> dict[str, list[Order]]:
    """The customer's coupons (paid orders) in three groups: `valid` (can take something off a fee;
    the ones ending soonest first), `used` (newest use first) and `expired` (paid, past validity)."""
    now = now or timezone.now()
    orders = Order.objects.filter(user_id=user.pk, status__in=(Order.Status.PAID, Order.Status.USED)).select_related(
        "voucher__lot", "voucher__organization"
    )
    groups: dict[str, list[Order]] = {"valid": [], "used": [], "expired": []}
    for order in orders:
        if order.status == Order.Status.USED:
            groups["used"].append(order)
        elif order.is_lapsed(now):
            groups["expired"].append(order)
        else:
            groups["valid"].append(order)
    far = datetime.max.replace(tzinfo=now.tzinfo)
    groups["valid"].sort(key=lambda o: (o.valid_until or far, o.paid_at or now))
    groups["used"].sort(key=lambda o: o.used_at or now, reverse=True)
    groups["expired"].sort(key=lambda o: o.valid_until, reverse=True)
    return groups
