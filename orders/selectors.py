"""Reads of orders. `order_for_customer` is the only way a view reaches one customer's order."""

import uuid
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from config.errors import DomainError

from .models import Order


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
    expiry task (or the read path) has written it."""
    now = now or timezone.now()
    if order.status == Order.Status.PENDING_PAYMENT and order.expires_at is not None and order.expires_at <= now:
        return Order.Status.EXPIRED
    return order.status


def has_overdue_orders(*, user: AbstractBaseUser, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return Order.objects.filter(user_id=user.pk, status=Order.Status.PENDING_PAYMENT, expires_at__lte=now).exists()
