"""The purchase path. `voucher_purchase` is the one entry point for the API and the pages.

Database gate (the authority in every mode): inside one transaction, a conditional UPDATE takes a
unit of stock (and with it the voucher's row lock, which serialises buyers of one voucher), the
per-user limit is counted under that lock, and the order is inserted; the partial unique constraint
on (user, voucher) over live orders is the last line of defence for limit-1 vouchers."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import DomainError
from coupons.models import Voucher
from orders.limits import purchase_rules_check
from orders.models import Order, OrderEvent


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


def purchase_through_database(
    *, voucher: Voucher, user_id: int, order_id: uuid.UUID | None = None, actor_id: int | None = None
) -> Order:
    """Take one unit and write the order, atomically. Raises DomainError (sold_out,
    already_purchased, purchase_limit_reached, not_started, ended)."""
    now = timezone.now()
    _check_window(voucher, now)
    # Friendly early answer; the authoritative count happens under the row lock below.
    held = live_orders_count(user_id=user_id, voucher_id=voucher.pk)
    if held >= voucher.per_user_limit:
        raise _limit_error(voucher, held)
    try:
        with transaction.atomic():
            if voucher.stock is None:
                taken = Voucher.objects.filter(pk=voucher.pk).update(sold_count=F("sold_count") + 1)
            else:
                taken = Voucher.objects.filter(pk=voucher.pk, stock__gt=0).update(
                    stock=F("stock") - 1, sold_count=F("sold_count") + 1
                )
            if not taken:
                raise DomainError("sold_out")
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
                created_at=now,
                expires_at=now + timedelta(seconds=voucher.payment_window_seconds),
                gate="db",
            )
            if order_id is not None:
                order.id = order_id
            order.save(force_insert=True)
            OrderEvent.objects.create(
                order=order, from_status="", to_status=order.status, actor_id=actor_id or user_id, reason="purchased"
            )
    except IntegrityError as exc:
        # The unique constraint: the same customer won a race with himself.
        if "order_one_live_per_user_voucher" in str(exc):
            raise DomainError("already_purchased") from exc
        raise
    return order


def voucher_purchase(*, voucher_id: int, user: AbstractBaseUser, idempotency_key: str | None = None) -> PurchaseResult:
    """Buy one unit of a voucher for `user`."""
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None or voucher.status != Voucher.Status.LISTED:
        raise DomainError("not_found", "This voucher is not on sale.", status=404)
    purchase_rules_check(voucher=voucher, user=user)
    order = purchase_through_database(voucher=voucher, user_id=user.pk)
    return PurchaseResult(order=order, accepted_async=False)
