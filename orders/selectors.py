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
