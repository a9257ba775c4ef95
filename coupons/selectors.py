"""Reads of vouchers that matter: what customers see on sale, what an operator may touch, and the
live figures of a sale (from the Redis gate when it holds the sale, else the database)."""

import time
from collections.abc import Callable

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.scoping import operator_required
from config.errors import DomainError

from .errors import voucher_not_on_sale
from .models import Voucher, lot_model


def vouchers_on_sale() -> QuerySet[Voucher]:
    """Listed vouchers a customer can buy now or soon: normal ones while listed, flash sales until
    their window ends (upcoming ones are shown with a countdown)."""
    now = timezone.now()
    return (
        Voucher.objects.filter(status=Voucher.Status.LISTED)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
        .select_related("organization", "lot")
        .order_by("begins_at", "id")
    )


def voucher_on_sale(voucher_id: int) -> Voucher:
    """A listed voucher for a customer (ended ones included, so its page can say so); 404 otherwise."""
    voucher = (
        Voucher.objects.filter(pk=voucher_id, status=Voucher.Status.LISTED)
        .select_related("organization", "lot")
        .first()
    )
    if voucher is None:
        raise voucher_not_on_sale()
    return voucher


def lots_of_organization(organization_id: int) -> QuerySet:
    """The lots of an organization (parking's model, reached through the voucher's foreign key)."""
    return lot_model().objects.filter(organization_id=organization_id).order_by("name")


def organization_of_lot(lot_id: int) -> int | None:
    return lot_model().objects.filter(pk=lot_id).values_list("organization_id", flat=True).first()


def vouchers_for_operator(user) -> QuerySet[Voucher]:
    op = operator_required(user)
    return Voucher.objects.filter(organization_id=op.organization_id).select_related("lot").order_by("-id")


def voucher_for_operator(user, voucher_id) -> Voucher:
    """The only way a view or admin fetches an operator's voucher: another organization's is a 404."""
    voucher = vouchers_for_operator(user).filter(pk=voucher_id).first()
    if voucher is None:
        raise DomainError("not_found", status=404)
    return voucher


# Where the live stock of a sale is read when it is not the database's: the flash-sale gate (an app
# above this one) registers itself here when it starts. A source answers None when it does not hold
# the sale (or cannot be reached), and the database's figure stands.
LiveStockSource = Callable[[Voucher], int | None]
_live_stock_sources: list[LiveStockSource] = []


def register_live_stock_source(source: LiveStockSource) -> None:
    if source not in _live_stock_sources:
        _live_stock_sources.append(source)


def live_stock(voucher: Voucher) -> int | None:
    for source in _live_stock_sources:
        remaining = source(voucher)
        if remaining is not None:
            return remaining
    return voucher.stock


def sale_state(voucher: Voucher) -> dict:
    """`stock_remaining` and the customer-facing `status` of a sale: upcoming, on_sale, sold_out,
    ended (or delisted). The remaining stock comes from the gate when it holds a flash sale."""
    remaining = live_stock(voucher)
    now = time.time()
    if voucher.status != Voucher.Status.LISTED:
        status = "delisted"
    elif voucher.ends_at and now >= voucher.ends_at.timestamp():
        status = "ended"
    elif voucher.begins_at and now < voucher.begins_at.timestamp():
        status = "upcoming"
    elif remaining is not None and remaining <= 0:
        status = "sold_out"
    else:
        status = "on_sale"
    return {"stock_remaining": remaining, "status": status}


# How many live orders (not cancelled, expired, failed or refunded) a customer holds of a voucher:
# orders, an app above this one, registers its count here when it starts. Without it nothing is held.
HeldCount = Callable[[int, int], int]
_held_counts: list[HeldCount] = []


def register_held_count(source: HeldCount) -> None:
    if source not in _held_counts:
        _held_counts.append(source)


def buy_state(voucher: Voucher, sale: dict, user) -> str:
    """What the buy button says to this visitor: `buy`, `bought` (at the per-user limit),
    `sold_out`, or `closed` (not on sale now)."""
    if user is not None and user.is_authenticated and _held_counts:
        held = sum(source(user.pk, voucher.pk) for source in _held_counts)
        if held >= voucher.per_user_limit:
            return "bought"
    if sale["status"] == "sold_out":
        return "sold_out"
    return "buy" if sale["status"] == "on_sale" else "closed"


def open_alerts(*, organization_id: int | None, limit: int = 10) -> list:
    """Alerts nobody acknowledged yet, newest first (`organization_id=None`: every organization's)."""
    from .models import Alert

    alerts = Alert.objects.filter(acknowledged_at__isnull=True).select_related("voucher")
    if organization_id is not None:
        alerts = alerts.filter(organization_id=organization_id)
    return list(alerts.order_by("-created_at", "-id")[:limit])


def open_alerts_count(*, organization_id: int | None) -> int:
    from .models import Alert

    alerts = Alert.objects.filter(acknowledged_at__isnull=True)
    if organization_id is not None:
        alerts = alerts.filter(organization_id=organization_id)
    return alerts.count()
