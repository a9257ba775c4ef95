"""The order lifecycle. Every transition locks the order row, checks the current state (a wrong one is
409 `invalid_state`), writes an OrderEvent (who, when, from, to, why) and commits with its money and
stock movements in one transaction.

Lock order, everywhere: the order row first, then the voucher row (stock return), then the wallet
row (inside wallet_debit / wallet_credit). The purchase path takes the voucher row and inserts an
order without locking existing orders, so the two never wait on each other in a cycle. Parking,
which consumes paid orders as coupons, locks the order before touching the wallet too.

Stock goes back at most once per order: the transition sets `stock_released` under the order's row
lock and only then calls coupons.services.voucher_return_unit (the database now; listeners such as
the flash-sale gate after the commit).

Every change of an order goes through `_transition` (one order) or `_transition_many` (a batch),
and every OrderEvent is made by `event_of`: placing (orders/placing.py), pay, cancel, expire,
refund, use, withdraw and compensate (the compensation run is orders/compensation.py). Other apps
call these functions; none writes an order itself."""

import functools
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from config import metrics
from config.errors import DomainError
from coupons.services import voucher_return_unit
from wallet.models import LedgerEntry
from wallet.services import topup_start, wallet_credit, wallet_debit

from .models import Order, OrderEvent

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


def _transition(
    order: Order,
    *,
    to: str,
    actor_id: int | None,
    reason: str,
    extra_fields: Iterable[str] = (),
    compensation_run_id: int | None = None,
) -> None:
    """Write the new status and its audit event. The caller holds the order's row lock."""
    from_status = order.status
    order.status = to
    order.save(update_fields=["status", "updated_at", *extra_fields])
    event_of(
        order, from_status=from_status, actor_id=actor_id, reason=reason, compensation_run_id=compensation_run_id
    ).save()


def _transition_many(orders: list[Order], *, from_status: str, to: str, reason: str, **fields) -> None:
    """A batch of locked orders, all in `from_status`, moves to `to` with one UPDATE and one event each."""
    if not orders:
        return
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(status=to, updated_at=timezone.now(), **fields)
    for order in orders:
        order.status = to
    OrderEvent.objects.bulk_create([event_of(o, from_status=from_status, actor_id=None, reason=reason) for o in orders])


def event_of(
    order: Order, *, from_status: str, actor_id: int | None, reason: str, compensation_run_id: int | None = None
) -> OrderEvent:
    """The audit row of an order reaching its current status (the one place an OrderEvent is made).
    A new order's event has from_status "" (or `processing` when the flash-sale gate accepted it)."""
    return OrderEvent(
        order=order,
        from_status=from_status,
        to_status=order.status,
        actor_id=actor_id,
        reason=reason[:255],
        compensation_run_id=compensation_run_id,
    )


def _release_stock(order: Order) -> None:
    """Give the order's unit back, once. Caller holds the order's row lock, inside its transaction."""
    if order.stock_released:
        return
    order.stock_released = True
    voucher_return_unit(voucher_id=order.voucher_id, user_id=order.user_id, order_id=order.pk)


def _close(order: Order, *, to: str, actor_id: int | None, reason: str, compensation_run_id: int | None = None) -> None:
    """A transition that ends the order's hold on its unit (cancel, expire, refund): the unit goes
    back once, then the status and its event. Caller holds the order's row lock."""
    _release_stock(order)
    _transition(
        order,
        to=to,
        actor_id=actor_id,
        reason=reason,
        extra_fields=["stock_released"],
        compensation_run_id=compensation_run_id,
    )


def _expire_locked(order: Order, *, actor_id: int | None, reason: str) -> None:
    _close(order, to=S.EXPIRED, actor_id=actor_id, reason=reason)
    transaction.on_commit(metrics.order_expiries.inc)


def _expired_error(order: Order) -> DomainError:
    return DomainError(
        "invalid_state",
        gettext_noop("The payment window of this order has closed; its coupon went back on sale."),
        details={"status": S.EXPIRED, "expired_at": order.expires_at.isoformat() if order.expires_at else None},
    )


# --- Pay --------------------------------------------------------------------------------------------


def order_pay(
    *, order_id: uuid.UUID, user: AbstractBaseUser, method: str = "wallet", now: datetime | None = None
) -> Order:
    """Pay an unpaid order from the customer's wallet: order lock, then wallet lock (in the debit),
    debit once (ledger key `order_payment:<id>`), mark paid. A late pay expires the order instead."""
    if method != "wallet":
        raise DomainError(
            "validation_error", gettext_noop("Unknown payment method."), details={"method": ['Use "wallet".']}
        )
    now = now or timezone.now()
    expired = False
    with transaction.atomic():
        order = _locked_order(order_id=order_id, user=user)
        if order.is_overdue(now):
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


def order_pay_topping_up(*, order_id: uuid.UUID, user: AbstractBaseUser, reference: str) -> Order:
    """Pay an order in one step when the wallet is short: top up exactly the shortfall (the
    sandbox provider, wallet.services.topup_start), then pay from the wallet (order_pay).

    `reference` (the page form's token) makes a repeat safe: the same reference tops up once
    (topup_start returns the first top-up) and an order already paid is returned as it is."""
    from wallet.selectors import wallet_of

    order = Order.objects.filter(pk=order_id, user_id=user.pk).first()
    if order is None:
        raise DomainError("not_found", status=404)
    if order.status == S.PAID:
        return order
    wallet = wallet_of(user=user)
    shortfall = order.amount - (wallet.balance if wallet else 0)
    if shortfall > 0 and order.status == S.PENDING_PAYMENT and not order.is_overdue(timezone.now()):
        topup_start(user=user, amount=shortfall, reference=reference)
    return order_pay(order_id=order_id, user=user)


def order_cancel(
    *, order_id: uuid.UUID, user: AbstractBaseUser, reason: str = "cancelled by customer", now: datetime | None = None
) -> Order:
    """Cancel an unpaid order; its unit goes back to stock (database and gate) once."""
    now = now or timezone.now()
    expired = False
    with transaction.atomic():
        order = _locked_order(order_id=order_id, user=user)
        if order.is_overdue(now):
            _expire_locked(order, actor_id=None, reason="payment window closed (seen at cancel)")
            expired = True
        elif order.status != S.PENDING_PAYMENT:
            raise _invalid(order, allowed=[S.PENDING_PAYMENT], action="cancelled")
        else:
            _close(order, to=S.CANCELLED, actor_id=user.pk, reason=reason)
    if expired:
        raise _expired_error(order)
    return order


# --- Refund -----------------------------------------------------------------------------------------


def _refund_locked(order: Order, *, actor_id: int | None, reason: str, compensation_run_id: int | None = None) -> int:
    """Paid and unused -> refunded: stock and money back in the caller's transaction. Returns the
    amount credited."""
    _close(order, to=S.REFUNDED, actor_id=actor_id, reason=reason, compensation_run_id=compensation_run_id)
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
        if order is None or not order.is_overdue(now):
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
            qs = Order.objects.select_for_update(skip_locked=True).overdue(now)
            if user_id is not None:
                qs = qs.filter(user_id=user_id)
            batch = list(
                qs.order_by("voucher_id", "id").only("id", "voucher_id", "user_id", "stock_released")[:batch_size]
            )
            for order in batch:
                _release_stock(order)
            _transition_many(batch, from_status=S.PENDING_PAYMENT, to=S.EXPIRED, reason=reason, stock_released=True)
            if batch:
                transaction.on_commit(functools.partial(metrics.order_expiries.inc, len(batch)))
        total += len(batch)
        if len(batch) < batch_size:
            break
    if total:
        log.info("expired %d unpaid orders", total)
    return total


# --- Use (a paid coupon applied to a parking fee) ----------------------------------------------------


def order_use(
    *,
    order_id: uuid.UUID,
    user: AbstractBaseUser,
    organization_id: int,
    lot_id: int,
    reason: str,
    honour_foreign: Callable[[Order], None] | None = None,
) -> Order:
    """Mark a paid coupon `used` for a fee at `lot_id` of `organization_id`, inside the caller's
    transaction (the one that debits the rest of the fee). Locks the order row only: of=("self",)
    keeps the voucher row, a flash sale's hot row, out of the lock. Another customer's order is 404;
    a coupon that is not paid, or does not apply to that lot, is 409 `invalid_state`. Returns the
    order with its voucher (the benefit to apply).

    A coupon of another organization applies only through `honour_foreign` (the caller's rule,
    e.g. parking's partnerships), and only when its voucher is valid at every lot of its own
    organization: the callable is called with the locked order and raises a DomainError when the
    coupon is not honoured here."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("voucher")
        .filter(pk=order_id, user_id=user.pk)
        .first()
    )
    if order is None:
        raise DomainError("not_found", gettext_noop("No such coupon."), status=404)
    if order.status != S.PAID:
        raise DomainError(
            "invalid_state",
            gettext_noop("This coupon is not paid or was already used."),
            details={"coupon": order.status},
        )
    voucher = order.voucher
    if order.is_lapsed(timezone.now()):
        raise DomainError(
            "invalid_state",
            gettext_noop("This coupon has expired."),
            details={"coupon": "expired", "valid_until": str(order.valid_until)},
        )
    not_applicable = DomainError(
        "invalid_state", gettext_noop("This coupon does not apply to this lot."), details={"coupon": "not_applicable"}
    )
    if order.organization_id != organization_id:
        if honour_foreign is None or voucher.lot_id is not None:
            raise not_applicable
        honour_foreign(order)
    elif voucher.lot_id is not None and voucher.lot_id != lot_id:
        raise not_applicable
    order.used_at = timezone.now()
    _transition(order, to=S.USED, actor_id=user.pk, reason=reason, extra_fields=["used_at"])
    return order


# --- Withdrawal (the compensation's transitions; orders/compensation.py runs them) -----------------


def order_withdraw(*, order_id: uuid.UUID, run_id: int, actor_id: int | None, reason: str) -> tuple[Order, str | None]:
    """Withdraw one order of a voucher that cannot be honoured, inside the caller's transaction:
    paid -> refunded (money and unit back), unpaid -> cancelled (unit back); an unpaid order past its
    window expires instead (it lapsed before the withdrawal). The row is locked first. Returns the
    order and what happened ("refunded", "cancelled" or None)."""
    order = _locked_order(order_id=order_id)
    if order.is_overdue(timezone.now()):
        _expire_locked(order, actor_id=None, reason="payment window closed (seen at compensation)")
        return order, None
    if order.status == S.PAID:
        _refund_locked(order, actor_id=actor_id, reason=reason, compensation_run_id=run_id)
        return order, "refunded"
    if order.status == S.PENDING_PAYMENT:
        _close(order, to=S.CANCELLED, actor_id=actor_id, reason=reason, compensation_run_id=run_id)
        return order, "cancelled"
    return order, None


def order_was_withdrawn(order: Order) -> bool:
    """Whether a compensation run refunded or cancelled this order (a later run may still owe it
    the compensation credit)."""
    return order.events.filter(compensation_run__isnull=False, to_status__in=[S.REFUNDED, S.CANCELLED]).exists()


def order_compensate(*, order: Order, run_id: int, actor_id: int | None, amount: int, message: str) -> bool:
    """Credit the customer of a withdrawn order `amount`, once per order whatever runs repeat
    (ledger key `compensation:<order id>`), with an event on the order. Inside the caller's
    transaction, the order row locked. Returns whether this call credited."""
    key = f"compensation:{order.pk}"
    if LedgerEntry.objects.filter(wallet__user_id=order.user_id, idempotency_key=key).exists():
        return False
    wallet_credit(
        user_id=order.user_id,
        amount=amount,
        kind=LedgerEntry.Kind.COMPENSATION,
        idempotency_key=key,
        order_id=order.pk,
        reference=f"compensation_run:{run_id}",
        memo=message,
    )
    event_of(
        order,
        from_status=order.status,
        actor_id=actor_id,
        reason=f"compensated {amount} (run #{run_id}): {message}",
        compensation_run_id=run_id,
    ).save()
    return True
