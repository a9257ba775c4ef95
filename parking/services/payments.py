"""A stay's fee payments: the unpaid payment refreshed to what is due, paying it from the wallet
(optionally with one coupon), the auto-debit of departed cars and the settling of open debts.
Locks follow the order in `parking.services` (session -> payment -> coupon order -> partnership
month -> wallet)."""

from __future__ import annotations

import enum
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from config import metrics
from config.errors import DomainError

from ..models import Lot, MerchantIssue, ParkingPayment, ParkingSession, Partnership, Vehicle
from ..selectors import Snapshot, merchant_issue_for_session, not_found, open_debts, session_rule, snapshot
from ..tariffs import fee_for_stay, percent_off
from .merchants import issue_find, issue_redeem
from .partnerships import partnership_honour, settlement_record

log = logging.getLogger("parkmarket.parking")


# --- the session's payments, under its lock ----------------------------------------------------------


def _lock_session(session_id: int) -> tuple[ParkingSession, list[ParkingPayment]]:
    """The session (with its lot and tariffs) and its payments, oldest first, all locked."""
    session = ParkingSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise not_found("parking session")
    session.lot = Lot.objects.prefetch_related("tariffs").get(pk=session.lot_id)
    return session, locked_payments(session)


def locked_payments(session: ParkingSession) -> list[ParkingPayment]:
    """The session's payments, oldest first, locked (the caller holds the session's lock)."""
    return list(ParkingPayment.objects.select_for_update().filter(session=session).order_by("id"))


def _unpaid(payments: list[ParkingPayment]) -> ParkingPayment | None:
    return next((p for p in payments if p.status == ParkingPayment.Status.UNPAID), None)


def unpaid_payment_sync(
    session: ParkingSession, payments: list[ParkingPayment], *, due: int, priced_until: datetime
) -> ParkingPayment | None:
    """Create, refresh or drop the session's one unpaid payment so that it asks for `due` (the
    caller holds the session's and the payments' locks)."""
    unpaid = _unpaid(payments)
    if due <= 0:
        if unpaid is not None:
            unpaid.delete()  # an unpaid payment never holds a coupon: nothing else to undo
        return None
    if unpaid is None:
        return ParkingPayment.objects.create(
            session=session, fee=due, discount=0, amount=due, priced_until=priced_until
        )
    unpaid.fee, unpaid.discount, unpaid.amount, unpaid.priced_until = due, 0, due, priced_until
    unpaid.save(update_fields=["fee", "discount", "amount", "priced_until", "updated_at"])
    return unpaid


# --- fee orders ------------------------------------------------------------------------------------


def payment_refresh(*, session: ParkingSession) -> tuple[Snapshot, ParkingPayment | None]:
    """The fee of a session now, and its payment: for a parked car the one unpaid payment is created
    or refreshed to the amount due at this moment (two racing calls serialize on the session row,
    and a partial unique constraint allows one unpaid payment per session). Returns the unpaid
    payment, else the last paid one, else None.

    A write behind a read: the contract's `GET /api/v1/parking/sessions/{id}/fee` "creates or
    refreshes its payment", so that endpoint calls this service; pages read `selectors.snapshot`."""
    with transaction.atomic():
        session, payments = _lock_session(session.pk)
        snap = snapshot(session, timezone.now(), payments=payments)
        if session.status == ParkingSession.Status.OPEN:
            current = unpaid_payment_sync(session, payments, due=snap.due, priced_until=snap.at)
        else:
            current = _unpaid(payments)
        if current is None:
            paid = [p for p in payments if p.status == ParkingPayment.Status.PAID]
            current = paid[-1] if paid else None
    return snap, current


def coupon_discount(*, voucher, fee: int, session: ParkingSession, covered: int, until: datetime) -> int:
    """What a coupon takes off a payment of `fee` (the stay priced up to `until`, less `covered`)."""
    from coupons.models import Voucher

    kind, value = voucher.benefit_type, voucher.benefit_value
    if kind == Voucher.BenefitType.AMOUNT:
        off = value
    elif kind == Voucher.BenefitType.PERCENT:
        off = percent_off(fee, value)
    elif kind == Voucher.BenefitType.FREE:
        off = fee
    elif kind == Voucher.BenefitType.MINUTES:
        rule = session_rule(session)
        shortened = fee_for_stay(rule, session.entered_at, until, tz=timezone.get_default_timezone(), minutes_off=value)
        off = fee - max(0, shortened - covered)
    else:  # pragma: no cover - the model's choices are exhaustive
        raise DomainError("invalid_state", gettext_noop("This coupon has an unknown benefit."))
    return max(0, min(fee, off))


@dataclass(frozen=True)
class MerchantOffer:
    """The merchant coupon issued to a car that its next payment would take (paid without a coupon
    of the driver's own), and what it would save on `fee`."""

    issue: MerchantIssue
    merchant: str
    discount: int
    amount: int


def merchant_offer(*, session: ParkingSession, fee: int, covered: int, until: datetime) -> MerchantOffer | None:
    """Read only (the pay page, the fee API): the shop's coupon that paying `fee` now would take,
    or None when there is none or it would save nothing (then it is kept, see
    `_settle_with_merchant_coupon`). The payment itself takes the coupon under lock."""
    if fee <= 0:
        return None
    issue = merchant_issue_for_session(session, timezone.now())
    if issue is None:
        return None
    discount = coupon_discount(voucher=issue.quota, fee=fee, session=session, covered=covered, until=until)
    if discount == 0:
        return None
    return MerchantOffer(issue=issue, merchant=issue.quota.merchant.name, discount=discount, amount=fee - discount)


def payment_pay(*, payment_id: int, user: AbstractBaseUser, coupon_id: uuid.UUID | None = None) -> ParkingPayment:
    """Pay a parking payment from the wallet, optionally with one coupon. For a parked car the
    payment is first refreshed to the amount due now, so what is charged is what the stay costs at
    the moment of paying. The coupon becomes `used` and the wallet is debited in one transaction:
    a short wallet leaves the coupon paid and the payment unpaid."""
    session_id = (
        ParkingPayment.objects.filter(pk=payment_id, session__user=user).values_list("session_id", flat=True).first()
    )
    if session_id is None:
        raise not_found("parking payment")
    with transaction.atomic():
        session, payments = _lock_session(session_id)
        payment = next((p for p in payments if p.pk == int(payment_id)), None)
        if payment is None:
            raise not_found("parking payment")
        if payment.status != ParkingPayment.Status.UNPAID:
            raise DomainError("invalid_state", gettext_noop("This payment is already paid."))
        return _pay_locked(session, payments, payment, user=user, coupon_id=coupon_id)


def session_pay(*, session_id: int, user: AbstractBaseUser, coupon_id: uuid.UUID | None = None) -> ParkingPayment:
    """Pay what a customer's stay owes now, optionally with one coupon: the stay's unpaid payment is
    written (or refreshed) and paid in one transaction, so the pages never write on a read. Another
    customer's stay is 404; nothing due is 409 `invalid_state`."""
    if not ParkingSession.objects.filter(pk=session_id, user=user).exists():
        raise not_found("parking session")
    with transaction.atomic():
        session, payments = _lock_session(session_id)
        if session.status == ParkingSession.Status.OPEN:
            snap = snapshot(session, timezone.now(), payments=payments)
            payment = unpaid_payment_sync(session, payments, due=snap.due, priced_until=snap.at)
        else:
            payment = _unpaid(payments)
        if payment is None:
            raise DomainError("invalid_state", gettext_noop("Nothing is due for this stay right now."))
        return _pay_locked(session, payments, payment, user=user, coupon_id=coupon_id)


def _pay_locked(
    session: ParkingSession,
    payments: list[ParkingPayment],
    payment: ParkingPayment,
    *,
    user: AbstractBaseUser,
    coupon_id: uuid.UUID | None,
) -> ParkingPayment:
    """Price the unpaid `payment` now, apply the coupon and settle it. Caller holds the locks."""
    if session.status == ParkingSession.Status.OPEN:
        snap = snapshot(session, timezone.now(), payments=payments)
        if snap.due <= 0:
            raise DomainError("invalid_state", gettext_noop("Nothing is due for this stay right now."))
        payment.fee, payment.priced_until = snap.due, snap.at
        covered = snap.covered
    else:
        covered = sum(p.fee for p in payments if p.status == ParkingPayment.Status.PAID)
    discount = 0
    honoured: list[tuple[Partnership, date]] = []
    if coupon_id is not None:
        order = _coupon_take(order_id=coupon_id, user=user, session=session, payment=payment, honoured=honoured)
        discount = coupon_discount(
            voucher=order.voucher, fee=payment.fee, session=session, covered=covered, until=payment.priced_until
        )
        payment.coupon = order
    else:  # no coupon chosen: a merchant's coupon issued to this car applies itself
        return _settle_with_merchant_coupon(payment, session, covered=covered, method=ParkingPayment.Method.WALLET)
    payment = _settle(payment, session, discount=discount, method=ParkingPayment.Method.WALLET)
    for partnership, month in honoured:  # a partner's coupon: the settlement, in the same transaction
        settlement_record(partnership=partnership, payment=payment, coupon=payment.coupon, month=month)
    return payment


def _coupon_take(
    *,
    order_id: uuid.UUID,
    user: AbstractBaseUser,
    session: ParkingSession,
    payment: ParkingPayment,
    honoured: list[tuple[Partnership, date]],
):
    """The coupon order, marked used (same transaction as the debit): orders owns the transition.
    A coupon of another organization applies through a partnership of the lot's organization,
    which is appended to `honoured` (its cap's counter already moved)."""
    from orders.services import order_use

    def honour_foreign(order) -> None:
        honoured.append(partnership_honour(order=order, lot=session.lot, at=timezone.now()))

    return order_use(
        order_id=order_id,
        user=user,
        organization_id=session.lot.organization_id,
        lot_id=session.lot_id,
        reason=f"Applied to parking payment {payment.pk}",
        honour_foreign=honour_foreign,
    )


def _settle_with_merchant_coupon(
    payment: ParkingPayment, session: ParkingSession, *, covered: int, method: str, only_if_free: bool = False
) -> ParkingPayment | None:
    """Settle `payment` with the merchant coupon issued to the car, if any (counted in its quota
    and marked used in this transaction), else without a discount. With `only_if_free`, settle
    only when such a coupon covers the whole fee (no wallet): None otherwise, nothing written.
    Caller holds the session's and the payments' locks."""
    at = timezone.now()
    issue = issue_find(session=session, at=at)
    discount = 0
    if issue is not None:
        discount = coupon_discount(
            voucher=issue.quota, fee=payment.fee, session=session, covered=covered, until=payment.priced_until
        )
        if discount == 0:  # it would save nothing here (the day's cap, say): keep it for the merchant
            issue = None
    if only_if_free and (issue is None or discount < payment.fee):
        return None
    if issue is not None and not issue_redeem(issue, payment=payment, at=at):
        if only_if_free:
            return None
        discount = 0  # the quota was refunded a moment ago: the coupon no longer applies
    payment = _settle(payment, session, discount=discount, method=method)
    return payment


def merchant_cover_locked(session: ParkingSession, payments: list[ParkingPayment], payment: ParkingPayment) -> bool:
    """At an exit, inside its transaction: pay a departed car's fee with the merchant coupon issued
    to its plate when that coupon covers all of it (no wallet needed, registered car or not)."""
    covered = sum(p.fee for p in payments if p.status == ParkingPayment.Status.PAID)
    paid = _settle_with_merchant_coupon(
        payment, session, covered=covered, method=ParkingPayment.Method.COUPON, only_if_free=True
    )
    return paid is not None


def _settle(payment: ParkingPayment, session: ParkingSession, *, discount: int, method: str) -> ParkingPayment:
    """Debit the wallet (if anything is left to pay) and mark the payment paid. Caller holds the locks."""
    from wallet.services import wallet_debit

    payment.discount = discount
    payment.amount = payment.fee - discount
    if payment.amount > 0:
        payment.ledger_entry = wallet_debit(
            user_id=session.user_id,
            amount=payment.amount,
            kind="parking_payment",
            idempotency_key=f"parking_payment:{payment.pk}",
            reference=f"parking_payment:{payment.pk}",
            memo=f"Parking {session.plate} at {session.lot.name}",
        )
    else:
        method = ParkingPayment.Method.COUPON
    payment.status = ParkingPayment.Status.PAID
    payment.method = method
    payment.paid_at = timezone.now()
    payment.save()
    return payment


# --- auto-debit --------------------------------------------------------------------------------------


class Autodebit(enum.StrEnum):
    PAID = "paid"
    ALREADY_PAID = "already_paid"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    NOT_ELIGIBLE = "not_eligible"


def payment_autodebit(*, payment_id: int) -> Autodebit:
    """Charge a departed car's unpaid payment to its owner's wallet when the vehicle has auto_pay.
    Safe to run any number of times, concurrently: the session lock serializes, the status check
    makes a second run a no-op, and the ledger key `parking_payment:<id>` is the last word. The
    outcome is counted once the caller's transaction (if any) commits."""
    outcome = _autodebit(payment_id=payment_id)
    transaction.on_commit(metrics.parking_autodebits.labels(outcome.value).inc)
    return outcome


def _autodebit(*, payment_id: int) -> Autodebit:
    session_id = ParkingPayment.objects.filter(pk=payment_id).values_list("session_id", flat=True).first()
    if session_id is None:
        return Autodebit.NOT_ELIGIBLE
    with transaction.atomic():
        session, payments = _lock_session(session_id)
        payment = next((p for p in payments if p.pk == int(payment_id)), None)
        if payment is None:
            return Autodebit.NOT_ELIGIBLE
        if payment.status == ParkingPayment.Status.PAID:
            return Autodebit.ALREADY_PAID
        if session.status != ParkingSession.Status.CLOSED or session.user_id is None:
            return Autodebit.NOT_ELIGIBLE
        if not Vehicle.objects.filter(pk=session.vehicle_id, user_id=session.user_id, auto_pay=True).exists():
            return Autodebit.NOT_ELIGIBLE
        covered = sum(p.fee for p in payments if p.status == ParkingPayment.Status.PAID)
        try:
            with transaction.atomic():
                _settle_with_merchant_coupon(payment, session, covered=covered, method=ParkingPayment.Method.AUTO)
        except DomainError as exc:
            if exc.code != "insufficient_funds":
                raise
            return Autodebit.INSUFFICIENT_FUNDS
    log.info("parking payment %s auto-debited", payment_id)
    return Autodebit.PAID


def debts_settle(*, user_id: int) -> int:
    """Settle a customer's open parking debts, oldest first, while the wallet covers them. Stops at
    the first one it cannot cover, so a newer debt never jumps ahead of an older one."""
    settled = 0
    for payment_id in list(open_debts(user_id=user_id).values_list("id", flat=True)):
        outcome = payment_autodebit(payment_id=payment_id)
        if outcome == Autodebit.INSUFFICIENT_FUNDS:
            break
        if outcome == Autodebit.PAID:
            settled += 1
    return settled
