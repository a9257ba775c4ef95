"""Reads of the flash-sale gate that other apps consult through their registries (seckill/apps.py):
an accepted order before its row exists, and a sale's live stock."""

import logging
import uuid

from django.conf import settings

from coupons.models import Voucher
from orders.models import Order
from orders.selectors import processing_order

from . import gate
from .purchase import epoch_ms_to_datetime

log = logging.getLogger("parkmarket.seckill")


def pending_order(user_id: int, order_id: uuid.UUID) -> Order | None:
    """An order the Redis gate accepted that the intake has not written yet (status `processing`),
    or None. Another customer's order is None (a 404 for the caller)."""
    if not settings.REDIS_URL:
        return None
    try:
        found = gate.order_index(order_id)
    except Exception:  # Redis unreachable: the order reads as not found, as without the gate
        log.warning("seckill order index unreachable for %s", order_id, exc_info=True)
        return None
    if found is None:
        return None
    voucher_id, owner_id, accepted_ms = found
    if owner_id != user_id:
        return None
    try:
        meta = gate.client().hgetall(gate.keys(voucher_id).meta)
    except Exception:
        meta = {}
    if meta.get("price"):
        amount, organization_id, limit = int(meta["price"]), int(meta["org"]), int(meta["limit"])
    else:
        voucher = Voucher.objects.filter(pk=voucher_id).first()
        if voucher is None:
            return None
        amount, organization_id, limit = voucher.price, voucher.organization_id, voucher.per_user_limit
    return processing_order(
        order_id=order_id,
        user_id=user_id,
        voucher_id=voucher_id,
        organization_id=organization_id,
        amount=amount,
        single_slot=limit == 1,
        accepted_at=epoch_ms_to_datetime(accepted_ms),
    )


def live_stock(voucher: Voucher) -> int | None:
    """The gate's stock of a flash sale it holds; None when the gate is off, does not hold the sale
    or cannot be reached (the database's figure stands)."""
    if not gate.enabled() or voucher.kind != Voucher.Kind.SECKILL:
        return None
    try:
        _meta, stock = gate.peek(voucher.pk)
    except Exception:
        log.warning("seckill gate unreachable for the live stock of voucher %s", voucher.pk, exc_info=True)
        return None
    return stock


def pending_intake(voucher: Voucher) -> int:
    """How many orders the gate accepted that the intake has not written yet (0 without the gate)."""
    if not gate.enabled() or voucher.kind != Voucher.Kind.SECKILL:
        return 0
    try:
        return int(gate.client().hlen(gate.keys(voucher.pk).pending))
    except Exception:
        log.warning("seckill gate unreachable for the pending intake of voucher %s", voucher.pk, exc_info=True)
        return 0


def live_sales(*, organization_id: int | None, now=None, soon_hours: int = 24) -> list[dict]:
    """The flash sales on now or starting within `soon_hours`, soonest end first: `{"voucher",
    "status", "sold", "left", "pending", "initial"}`. `left` is the gate's stock when it holds the
    sale (the database's otherwise); `sold` counts every unit taken, pending intake included."""
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    from coupons.selectors import sale_state

    now = now or timezone.now()
    sales = Voucher.objects.filter(kind=Voucher.Kind.SECKILL, status=Voucher.Status.LISTED).filter(
        Q(ends_at__isnull=True) | Q(ends_at__gt=now),
        Q(begins_at__isnull=True) | Q(begins_at__lte=now + timedelta(hours=soon_hours)),
    )
    if organization_id is not None:
        sales = sales.filter(organization_id=organization_id)
    out = []
    for voucher in sales.select_related("lot").order_by("ends_at", "id")[:20]:
        state = sale_state(voucher)
        left = state["stock_remaining"] if state["stock_remaining"] is not None else 0
        initial = voucher.initial_stock or 0
        out.append(
            {
                "voucher": voucher,
                "status": state["status"],
                "left": left,
                "sold": max(0, initial - left),
                "initial": initial,
                "pending": pending_intake(voucher),
            }
        )
    return out
