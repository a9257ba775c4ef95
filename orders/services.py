"""The order lifecycle. Every transition locks the order row, checks the current state (a wrong one is
409 `invalid_state`), writes an OrderEvent (who, when, from, to, why) and commits with its money and
stock movements in one transaction.

Lock order, everywhere: the order row first, then the voucher row (stock return), then the wallet
row (inside wallet_debit / wallet_credit). The purchase path takes the voucher row and inserts an
order without locking existing orders, so the two never wait on each other in a cycle. Parking,
which consumes paid orders as coupons, locks the order before touching the wallet too.

Stock goes back at most once per order: the transition sets `stock_released` under the order's row
lock and only then calls coupons.services.voucher_stock_return (database now, Redis gate on commit)."""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from coupons.services import voucher_stock_return
from wallet.models import LedgerEntry
from wallet.services import wallet_credit, wallet_debit

from .models import CompensationRun, Order, OrderEvent

log = logging.getLogger("parkmarket.orders")

S = Order.Status
EXPIRE_BATCH_SIZE = 200


def _locked_order(*, order_id: uuid.UUID, user: AbstractBaseUser | None = None) -> Order:
    """The order under a row lock; a customer only reaches their own (else 404)."""
    qs = Order.objects.select_for_update().filter(pk=order_id)
    if user is not None:
        qs = qs.filter(user_id=user.pk)
    order = qs.first()
    if order is None:
        raise DomainError("not_found", status=404)
    return order


def _invalid(order: Order, *, allowed: Iterable[str], action: str) -> DomainError:
    return DomainError(
        "invalid_state",
        f"This order cannot be {action} while it is {order.get_status_display().lower()}.",
        details={"status": order.status, "allowed": list(allowed)},
    )


def _transition(order: Order, *, to: str, actor_id: int | None, reason: str, extra_fields: Iterable[str] = ()) -> None:
    """Write the new status and its audit event. The caller holds the order's row lock."""
    from_status = order.status
    order.status = to
    order.save(update_fields=["status", "updated_at", *extra_fields])
    OrderEvent.objects.create(
        order=order, from_status=from_status, to_status=to, actor_id=actor_id, reason=reason[:255]
    )


def _release_stock(order: Order) -> None:
    """Give the order's unit back, once. Caller holds the order's row lock, inside its transaction."""
    if order.stock_released:
        return
    order.stock_released = True
    voucher_stock_return(voucher_id=order.voucher_id, user_id=order.user_id, order_id=order.pk)


def _is_overdue(order: Order, now: datetime) -> bool:
    return order.status == S.PENDING_PAYMENT and order.expires_at is not None and order.expires_at <= now


def _expire_locked(order: Order, *, actor_id: int | None, reason: str) -> None:
    _release_stock(order)
    _transition(order, to=S.EXPIRED, actor_id=actor_id, reason=reason, extra_fields=["stock_released"])


def _expired_error(order: Order) -> DomainError:
    return DomainError(
        "invalid_state",
        "The payment window of this order has closed; its coupon went back on sale.",
        details={"status": S.EXPIRED, "expired_at": order.expires_at.isoformat() if order.expires_at else None},
    )


# --- Pay --------------------------------------------------------------------------------------------


def order_pay(
    *, order_id: uuid.UUID, user: AbstractBaseUser, method: str = "wallet", now: datetime | None = None
) -> Order:
    """Pay an unpaid order from the customer's wallet: order lock, then wallet lock (in the debit),
    debit once (ledger key `order_payment:<id>`), mark paid. A late pay expires the order instead."""
    if method != "wallet":
        raise DomainError("validation_error", "Unknown payment method.", details={"method": ['Use "wallet".']})
    now = now or timezone.now()
    expired = False
    with transaction.atomic():
        order = _locked_order(order_id=order_id, user=user)
        if _is_overdue(order, now):
            _expire_locked(order, actor_id=None, reason="payment window closed (seen at payment)")
            expired = True
        elif order.status != S.PENDING_PAYMENT:
            raise _invalid(order, allowed=[S.PENDING_PAYMENT], action="paid")
        else:
            if order.amount > 0:
                wallet_debit(
                    user_id=order.user_id,
                    amount=order.amount,
                    kind=LedgerEntry.Kind.ORDER_PAYMENT,
                    idempotency_key=f"order_payment:{order.pk}",
                    order_id=order.pk,
                    memo=order.voucher.title,
                )
            order.paid_at = now
            _transition(order, to=S.PAID, actor_id=user.pk, reason="paid from wallet", extra_fields=["paid_at"])
    if expired:
        raise _expired_error(order)
    return order


# --- Cancel -----------------------------------------------------------------------------------------


def order_cancel(
    *, order_id: uuid.UUID, user: AbstractBaseUser, reason: str = "cancelled by customer", now: datetime | None = None
) -> Order:
    """Cancel an unpaid order; its unit goes back to stock (database and gate) once."""
    now = now or timezone.now()
    expired = False
    with transaction.atomic():
        order = _locked_order(order_id=order_id, user=user)
        if _is_overdue(order, now):
            _expire_locked(order, actor_id=None, reason="payment window closed (seen at cancel)")
            expired = True
        elif order.status != S.PENDING_PAYMENT:
            raise _invalid(order, allowed=[S.PENDING_PAYMENT], action="cancelled")
        else:
            _release_stock(order)
            _transition(order, to=S.CANCELLED, actor_id=user.pk, reason=reason, extra_fields=["stock_released"])
    if expired:
        raise _expired_error(order)
    return order


# --- Refund -----------------------------------------------------------------------------------------


def _refund_locked(order: Order, *, actor_id: int | None, reason: str) -> int:
    """Paid and unused -> refunded: stock and money back in the caller's transaction. Returns the
    amount credited."""
    _release_stock(order)
    _transition(order, to=S.REFUNDED, actor_id=actor_id, reason=reason, extra_fields=["stock_released"])
    if order.amount > 0:
        wallet_credit(
            user_id=order.user_id,
            amount=order.amount,
            kind=LedgerEntry.Kind.ORDER_REFUND,
            idempotency_key=f"order_refund:{order.pk}",
            order_id=order.pk,
            memo=reason,
        )
    return order.amount


def order_refund(
    *,
    order_id: uuid.UUID,
    user: AbstractBaseUser,
    reason: str = "refunded at the customer's request",
) -> Order:
    """Refund a paid, unused coupon: the money to the wallet and the unit to the voucher, together."""
    with transaction.atomic():
        order = _locked_order(order_id=order_id, user=user)
        if order.status != S.PAID:
            raise _invalid(order, allowed=[S.PAID], action="refunded")
        _refund_locked(order, actor_id=user.pk, reason=reason)
    return order


# --- Expire -----------------------------------------------------------------------------------------


def order_expire(*, order_id: uuid.UUID, now: datetime | None = None, reason: str = "payment window closed") -> bool:
    """Expire one order if it is unpaid and overdue at `now`. Returns whether it did."""
    now = now or timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None or not _is_overdue(order, now):
            return False
        _expire_locked(order, actor_id=None, reason=reason)
    return True


def orders_expire_due(
    *,
    now: datetime | None = None,
    batch_size: int = EXPIRE_BATCH_SIZE,
    user_id: int | None = None,
    reason: str = "payment window closed",
) -> int:
    """Expire every unpaid order whose window closed, in batches of `batch_size`, each batch one
    transaction. Rows another transaction holds (a pay in progress) are skipped, not waited for; the
    next run sees them again if they are still due. Rows are locked by (voucher, id), so stock goes
    back to vouchers in a fixed order. Returns how many orders expired."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            qs = Order.objects.select_for_update(skip_locked=True).filter(status=S.PENDING_PAYMENT, expires_at__lte=now)
            if user_id is not None:
                qs = qs.filter(user_id=user_id)
            batch = list(
                qs.order_by("voucher_id", "id").only("id", "voucher_id", "user_id", "stock_released")[:batch_size]
            )
            for order in batch:
                _release_stock(order)
            if batch:
                Order.objects.filter(pk__in=[o.pk for o in batch]).update(
                    status=S.EXPIRED, stock_released=True, updated_at=timezone.now()
                )
                OrderEvent.objects.bulk_create(
                    [
                        OrderEvent(
                            order_id=o.pk, from_status=S.PENDING_PAYMENT, to_status=S.EXPIRED, reason=reason[:255]
                        )
                        for o in batch
                    ]
                )
        total += len(batch)
        if len(batch) < batch_size:
            break
    if total:
        log.info("expired %d unpaid orders", total)
    return total


# --- Use (a paid coupon applied to a parking fee) ----------------------------------------------------


def order_use(*, order_id: uuid.UUID, user: AbstractBaseUser, organization_id: int, lot_id: int, reason: str) -> Order:
    """Mark a paid coupon `used` for a fee at `lot_id` of `organization_id`, inside the caller's
    transaction (the one that debits the rest of the fee). Locks the order row only: of=("self",)
    keeps the voucher row, a flash sale's hot row, out of the lock. Another customer's order is 404;
    a coupon that is not paid, or does not apply to that lot, is 409 `invalid_state`. Returns the
    order with its voucher (the benefit to apply)."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("voucher")
        .filter(pk=order_id, user_id=user.pk)
        .first()
    )
    if order is None:
        raise DomainError("not_found", "No such coupon.", status=404)
    if order.status != S.PAID:
        raise DomainError(
            "invalid_state", "This coupon is not paid or was already used.", details={"coupon": order.status}
        )
    voucher = order.voucher
    if order.organization_id != organization_id or (voucher.lot_id is not None and voucher.lot_id != lot_id):
        raise DomainError(
            "invalid_state", "This coupon does not apply to this lot.", details={"coupon": "not_applicable"}
        )
    order.used_at = timezone.now()
    _transition(order, to=S.USED, actor_id=user.pk, reason=reason, extra_fields=["used_at"])
    return order


# --- Compensation -----------------------------------------------------------------------------------


@dataclass
class _RunTally:
    refunded: int = 0
    cancelled: int = 0
    compensated: int = 0
    skipped: int = 0
    compensated_total: int = 0
    refunded_total: int = 0
    outcome: dict = field(default_factory=dict)


def voucher_compensate(
    *,
    voucher_id: int,
    amount: int,
    message: str,
    actor: AbstractBaseUser | None,
    order_ids: Iterable[uuid.UUID] | None = None,
) -> CompensationRun:
    """Withdraw a sold voucher: delist it, refund every paid order (unpaid ones are cancelled), return their
    stock, and credit each affected customer `amount` with `message`. Each order is handled in its
    own transaction under its row lock; compensation credits use the ledger key
    `compensation:<order id>`, so running it again pays nobody twice. Used coupons are skipped (the
    benefit was consumed), and so are unpaid orders past their window (they expire here). The run
    is recorded with what happened to every order."""
    from coupons.models import Voucher

    if amount < 0:
        raise DomainError("validation_error", "Compensation cannot be negative.", details={"amount": ["Must be >= 0."]})
    message = (message or "").strip()
    if not message:
        raise DomainError(
            "validation_error", "A message for the customers is required.", details={"message": ["Required."]}
        )
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None:
        raise DomainError("not_found", status=404)
    if voucher.status == Voucher.Status.LISTED:
        # Withdrawing means it stops selling first: the units the refunds return must not go
        # straight back on sale.
        from coupons.services import voucher_delist

        voucher_delist(voucher_id=voucher.pk)
    run = CompensationRun.objects.create(
        organization_id=voucher.organization_id,
        voucher=voucher,
        amount_per_order=amount,
        message=message[:255],
        actor_id=actor.pk if actor else None,
    )
    candidates = Order.objects.filter(voucher_id=voucher_id)
    if order_ids is not None:
        candidates = candidates.filter(pk__in=list(order_ids))
    tally = _RunTally()
    actor_id = actor.pk if actor else None
    for oid in candidates.order_by("id").values_list("pk", flat=True):
        _compensate_one(order_id=oid, run=run, amount=amount, message=message, actor_id=actor_id, tally=tally)
    CompensationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        refunded_count=tally.refunded,
        cancelled_count=tally.cancelled,
        compensated_count=tally.compensated,
        skipped_count=tally.skipped,
        compensated_total=tally.compensated_total,
        refunded_total=tally.refunded_total,
        outcome=tally.outcome,
    )
    run.refresh_from_db()
    log.info("compensation run %s on voucher %s: %s", run.pk, voucher_id, tally)
    return run


def _compensate_one(
    *, order_id: uuid.UUID, run: CompensationRun, amount: int, message: str, actor_id: int | None, tally: _RunTally
) -> None:
    done: list[str] = []
    why = f"withdrawn (compensation run #{run.pk}): {message}"
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        if _is_overdue(order, timezone.now()):
            # Its payment window closed before the withdrawal: it is expired, not withdrawn.
            _expire_locked(order, actor_id=None, reason="payment window closed (seen at compensation)")
        elif order.status == S.PAID:
            tally.refunded_total += _refund_locked(order, actor_id=actor_id, reason=why)
            tally.refunded += 1
            done.append("refunded")
        elif order.status == S.PENDING_PAYMENT:
            _release_stock(order)
            _transition(order, to=S.CANCELLED, actor_id=actor_id, reason=why, extra_fields=["stock_released"])
            tally.cancelled += 1
            done.append("cancelled")
        eligible = bool(done) or (
            order.status in (S.REFUNDED, S.CANCELLED)
            and order.events.filter(reason__startswith="withdrawn (compensation run").exists()
        )
        if eligible and amount > 0:
            key = f"compensation:{order.pk}"
            already = LedgerEntry.objects.filter(wallet__user_id=order.user_id, idempotency_key=key).exists()
            if not already:
                wallet_credit(
                    user_id=order.user_id,
                    amount=amount,
                    kind=LedgerEntry.Kind.COMPENSATION,
                    idempotency_key=key,
                    order_id=order.pk,
                    reference=f"compensation_run:{run.pk}",
                    memo=message,
                )
                OrderEvent.objects.create(
                    order=order,
                    from_status=order.status,
                    to_status=order.status,
                    actor_id=actor_id,
                    reason=f"compensated {amount} (run #{run.pk}): {message}"[:255],
                )
                tally.compensated += 1
                tally.compensated_total += amount
                done.append("compensated")
    if not done:
        tally.skipped += 1
        done.append(f"skipped ({order.status})")
    tally.outcome[str(order_id)] = done
