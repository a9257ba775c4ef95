"""Every write of the parking app: organizations and operators, lots and tariffs, gate events,
vehicles, fee orders (parking payments), coupon use and auto-debit.

Lock order. A service that locks several rows takes them in this order, so two services never wait
on each other in a circle:

    parking session -> parking payment -> lot (conditional UPDATE) -> coupon order -> wallet

The session row is the mutex of everything that prices or pays a stay: fee queries, payments,
the exit and the auto-debit all lock it first, so two of them never price the same stay at once.
Money moves only through `wallet.services.wallet_debit` with the key `parking_payment:<id>`, unique
per wallet in the ledger: a payment can be charged once, whatever retries or races happen.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization
from config.errors import DomainError, NotFound

from .models import Lot, ParkingPayment, ParkingSession, Tariff, Vehicle
from .plates import is_new_energy_plate, is_valid_plate, normalize_plate
from .selectors import Snapshot, session_rule, snapshot, tariff_for
from .tariffs import TariffRule, fee_for_stay, percent_off

User = get_user_model()
log = logging.getLogger("parkmarket.parking")

# A gate camera's clock may run a little ahead of ours; anything later than this is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Gate events older than this are refused too (a replayed or mistyped event).
MAX_EVENT_AGE = timedelta(days=366)


# --- lots and tariffs ---------------------------------------------------------------------------


def lot_create(
    *,
    organization: Organization,
    name: str,
    capacity: int,
    tariff: TariffRule,
    tariffs: dict[str, TariffRule] | None = None,
    grace_minutes: int = 15,
) -> Lot:
    """A lot with its small-car tariff and, optionally, tariffs for other vehicle types."""
    by_type = {Tariff.VehicleType.SMALL.value: tariff, **(tariffs or {})}
    try:
        with transaction.atomic():
            lot = Lot.objects.create(
                organization=organization, name=name.strip(), capacity=capacity, grace_minutes=grace_minutes
            )
            Tariff.objects.bulk_create(
                [Tariff(lot=lot, vehicle_type=vt, **Tariff.fields_from_rule(rule)) for vt, rule in by_type.items()]
            )
    except IntegrityError as exc:
        raise DomainError(
            "validation_error",
            "Your organization already has a lot with this name.",
            details={"name": ["Your organization already has a lot with this name."]},
        ) from exc
    return Lot.objects.prefetch_related("tariffs").get(pk=lot.pk)


def lot_recount_occupancy(*, lot_id: int) -> int:
    """Set a lot's occupancy to the number of cars parked in it (repairs drift after manual fixes).
    Under the lot's row lock, so no gate event moves the counter meanwhile."""
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot_id)
        parked = ParkingSession.objects.filter(lot=lot, status=ParkingSession.Status.OPEN).count()
        if parked > lot.capacity:
            raise DomainError(
                "invalid_state",
                "More cars are parked than the lot holds; raise its capacity first.",
                details={"parked": parked, "capacity": lot.capacity},
            )
        Lot.objects.filter(pk=lot.pk).update(occupancy=parked)
    return parked


# --- plates and gate events -----------------------------------------------------------------------


def clean_plate(raw: str) -> str:
    plate = normalize_plate(raw or "")
    if not is_valid_plate(plate):
        raise DomainError(
            "validation_error",
            "This is not a valid licence plate.",
            details={"plate": ["Enter a plate such as 粤B12345 (or 粤BD12345 for a new-energy car)."]},
        )
    return plate


def _check_event_time(at: datetime, *, field: str = "at") -> None:
    now = timezone.now()
    if at > now + MAX_CLOCK_SKEW:
        raise DomainError("validation_error", "This time is in the future.", details={field: ["Is in the future."]})
    if at < now - MAX_EVENT_AGE:
        raise DomainError("validation_error", "This time is too far in the past.", details={field: ["Is too old."]})


def session_enter(*, lot: Lot, plate: str, at: datetime, vehicle_type: str | None = None) -> ParkingSession:
    """A car seen by the entry camera. One open session per plate and lot (database constraint);
    the occupancy grows by a conditional UPDATE that refuses a full lot."""
    plate = clean_plate(plate)
    _check_event_time(at)
    vehicle = Vehicle.objects.filter(plate=plate).first()
    if vehicle_type is None:
        if vehicle is not None:
            vehicle_type = vehicle.vehicle_type
        else:
            vehicle_type = Tariff.VehicleType.NEW_ENERGY if is_new_energy_plate(plate) else Tariff.VehicleType.SMALL
    with transaction.atomic():
        if ParkingSession.objects.filter(lot=lot, plate=plate, status=ParkingSession.Status.OPEN).exists():
            raise DomainError("already_parked")
        last_exit = (
            ParkingSession.objects.filter(lot=lot, plate=plate, status=ParkingSession.Status.CLOSED)
            .order_by("-exited_at")
            .values_list("exited_at", flat=True)
            .first()
        )
        if last_exit is not None and at < last_exit:
            raise DomainError(
                "validation_error",
                "This car left the lot after that time.",
                details={"at": ["Is before this car's last exit from this lot."]},
            )
        try:
            with transaction.atomic():
                session = ParkingSession.objects.create(
                    lot=lot,
                    plate=plate,
                    vehicle_type=vehicle_type,
                    vehicle=vehicle,
                    user_id=vehicle.user_id if vehicle else None,
                    tariff=tariff_for(lot, vehicle_type).as_dict(),
                    entered_at=at,
                )
        except IntegrityError as exc:
            raise DomainError("already_parked") from exc
        if not Lot.objects.filter(pk=lot.pk, occupancy__lt=F("capacity")).update(occupancy=F("occupancy") + 1):
            raise DomainError("lot_full", details={"capacity": lot.capacity})
    return session


class Gate(enum.StrEnum):
    OPEN = "open"
    PAY_REQUIRED = "pay_required"


@dataclass(frozen=True)
class ExitResult:
    session: ParkingSession
    fee: int
    due: int
    gate: Gate
    payment: ParkingPayment | None


def session_exit(*, lot: Lot, plate: str, at: datetime) -> ExitResult:
    """A car seen by the exit camera. Closes the session at the tariff price of the stay (or at what
    was paid, when it leaves within the grace period of its last payment) and writes the open
    payment for the rest.

    The auto-debit runs synchronously, right after the session is closed and committed, through the
    same service the Celery tasks call (`payment_autodebit`): the answer's `gate` is the truth at
    that moment, "open" only when nothing is owed or the money moved."""
    plate = clean_plate(plate)
    _check_event_time(at)
    with transaction.atomic():
        session = (
            ParkingSession.objects.select_for_update()
            .filter(lot=lot, plate=plate, status=ParkingSession.Status.OPEN)
            .first()
        )
        if session is None:
            raise DomainError("not_parked")
        if at < session.entered_at:
            raise DomainError(
                "validation_error", "The exit is before the entry.", details={"at": ["Is before the entry."]}
            )
        session.lot = lot
        payments = list(ParkingPayment.objects.select_for_update().filter(session=session).order_by("id"))
        snap = snapshot(session, at, payments=payments)
        session.status = ParkingSession.Status.CLOSED
        session.exited_at = at
        session.fee = snap.fee
        session.save(update_fields=["status", "exited_at", "fee"])
        Lot.objects.filter(pk=lot.pk, occupancy__gt=0).update(occupancy=F("occupancy") - 1)
        payment = _write_open_payment(session, payments, snap.due, at)
    gate, due = Gate.OPEN, 0
    if payment is not None:
        outcome = Autodebit.NOT_ELIGIBLE
        if session.user_id is not None:  # an unregistered car cannot be auto-debited
            outcome = payment_autodebit(payment_id=payment.pk)
            payment.refresh_from_db()
        if outcome not in (Autodebit.PAID, Autodebit.ALREADY_PAID):
            gate, due = Gate.PAY_REQUIRED, payment.amount
    return ExitResult(session=session, fee=snap.fee, due=due, gate=gate, payment=payment)


def _write_open_payment(
    session: ParkingSession, payments: list[ParkingPayment], due: int, priced_until: datetime
) -> ParkingPayment | None:
    """Create, refresh or drop the session's one unpaid payment (rows already locked)."""
    unpaid = next((p for p in payments if p.status == ParkingPayment.Status.UNPAID), None)
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


def _lock_session(session_id: int) -> ParkingSession:
    session = ParkingSession.objects.select_for_update().filter(pk=session_id).first()
    if session is None:
        raise NotFound()
    session.lot = Lot.objects.prefetch_related("tariffs").get(pk=session.lot_id)
    return session


# --- fee orders ------------------------------------------------------------------------------------


def payment_refresh(*, session: ParkingSession) -> tuple[Snapshot, ParkingPayment | None]:
    """The fee of a session now, and its payment: for a parked car the one unpaid payment is created
    or refreshed to the amount due at this moment (two racing calls serialize on the session row,
    and a partial unique constraint allows one unpaid payment per session). Returns the unpaid
    payment, else the last paid one, else None."""
    with transaction.atomic():
        session = _lock_session(session.pk)
        payments = list(ParkingPayment.objects.select_for_update().filter(session=session).order_by("id"))
        snap = snapshot(session, timezone.now(), payments=payments)
        if session.status == ParkingSession.Status.OPEN:
            current = _write_open_payment(session, payments, snap.due, snap.at)
        else:
            current = next((p for p in payments if p.status == ParkingPayment.Status.UNPAID), None)
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
        raise DomainError("invalid_state", "This coupon has an unknown benefit.")
    return max(0, min(fee, off))


def _coupon_take(*, order_id, user, session: ParkingSession, payment: ParkingPayment):
    """The coupon order, marked used (same transaction as the debit): orders owns the transition."""
    from orders.services import order_use

    return order_use(
        order_id=order_id,
        user=user,
        organization_id=session.lot.organization_id,
        lot_id=session.lot_id,
        reason=f"Applied to parking payment {payment.pk}",
    )


def payment_pay(*, payment_id: int, user, coupon_id=None) -> ParkingPayment:
    """Pay a parking payment from the wallet, optionally with one coupon. For a parked car the
    payment is first refreshed to the amount due now, so what is charged is what the stay costs at
    the moment of paying. The coupon becomes `used` and the wallet is debited in one transaction:
    a short wallet leaves the coupon paid and the payment unpaid."""
    session_id = (
        ParkingPayment.objects.filter(pk=payment_id, session__user=user).values_list("session_id", flat=True).first()
    )
    if session_id is None:
        raise NotFound()
    with transaction.atomic():
        session = _lock_session(session_id)
        payments = list(ParkingPayment.objects.select_for_update().filter(session=session).order_by("id"))
        payment = next((p for p in payments if p.pk == int(payment_id)), None)
        if payment is None:
            raise NotFound()
        if payment.status != ParkingPayment.Status.UNPAID:
            raise DomainError("invalid_state", "This payment is already paid.")
        if session.status == ParkingSession.Status.OPEN:
            snap = snapshot(session, timezone.now(), payments=payments)
            if snap.due <= 0:
                raise DomainError("invalid_state", "Nothing is due for this stay right now.")
            payment.fee, payment.priced_until = snap.due, snap.at
            covered = snap.covered
        else:
            covered = sum(p.fee for p in payments if p.status == ParkingPayment.Status.PAID)
        discount = 0
        if coupon_id is not None:
            order = _coupon_take(order_id=coupon_id, user=user, session=session, payment=payment)
            discount = coupon_discount(
                voucher=order.voucher, fee=payment.fee, session=session, covered=covered, until=payment.priced_until
            )
            payment.coupon = order
        return _settle(payment, session, discount=discount, method=ParkingPayment.Method.WALLET)


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
    makes a second run a no-op, and the ledger key `parking_payment:<id>` is the last word."""
    session_id = ParkingPayment.objects.filter(pk=payment_id).values_list("session_id", flat=True).first()
    if session_id is None:
        return Autodebit.NOT_ELIGIBLE
    with transaction.atomic():
        session = _lock_session(session_id)
        payment = ParkingPayment.objects.select_for_update().filter(pk=payment_id).first()
        if payment is None:
            return Autodebit.NOT_ELIGIBLE
        if payment.status == ParkingPayment.Status.PAID:
            return Autodebit.ALREADY_PAID
        if session.status != ParkingSession.Status.CLOSED or session.user_id is None:
            return Autodebit.NOT_ELIGIBLE
        if not Vehicle.objects.filter(pk=session.vehicle_id, user_id=session.user_id, auto_pay=True).exists():
            return Autodebit.NOT_ELIGIBLE
        try:
            with transaction.atomic():
                _settle(payment, session, discount=0, method=ParkingPayment.Method.AUTO)
        except DomainError as exc:
            if exc.code != "insufficient_funds":
                raise
            return Autodebit.INSUFFICIENT_FUNDS
    log.info("parking payment %s auto-debited", payment_id)
    return Autodebit.PAID


def open_debts(*, user_id: int | None = None):
    """Unpaid payments of departed cars whose vehicle has auto_pay, oldest exit first."""
    qs = ParkingPayment.objects.filter(
        status=ParkingPayment.Status.UNPAID,
        session__status=ParkingSession.Status.CLOSED,
        session__user__isnull=False,
        session__vehicle__auto_pay=True,
        session__vehicle__user_id=F("session__user_id"),
    )
    if user_id is not None:
        qs = qs.filter(session__user_id=user_id)
    return qs.order_by("session__exited_at", "id")


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


# --- vehicles ----------------------------------------------------------------------------------------


def vehicle_register(
    *, user, plate: str, auto_pay: bool = False, vehicle_type: str | None = None
) -> tuple[Vehicle, bool]:
    """Register a plate to a customer (or update it when it is already theirs). A plate belongs to
    one customer at a time: another customer's plate is 409 `plate_taken`. Open stays of the plate
    that nobody owned yet become this customer's."""
    plate = clean_plate(plate)
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().filter(plate=plate).first()
        if vehicle is not None and vehicle.user_id != user.pk:
            raise DomainError("plate_taken", "This plate is registered to another account.")
        created = vehicle is None
        if created:
            try:
                with transaction.atomic():
                    vehicle = Vehicle.objects.create(
                        user=user,
                        plate=plate,
                        auto_pay=auto_pay,
                        vehicle_type=vehicle_type
                        or (Tariff.VehicleType.NEW_ENERGY if is_new_energy_plate(plate) else Tariff.VehicleType.SMALL),
                    )
            except IntegrityError as exc:
                # Registered concurrently: by this customer (a double submit) it is an update.
                vehicle = Vehicle.objects.select_for_update().filter(plate=plate).first()
                if vehicle is None or vehicle.user_id != user.pk:
                    raise DomainError("plate_taken", "This plate is registered to another account.") from exc
                created = False
        if not created:
            vehicle.auto_pay = auto_pay
            if vehicle_type:
                vehicle.vehicle_type = vehicle_type
            vehicle.save(update_fields=["auto_pay", "vehicle_type"])
        ParkingSession.objects.filter(plate=plate, status=ParkingSession.Status.OPEN, user__isnull=True).update(
            user=user, vehicle=vehicle
        )
        if auto_pay:
            _settle_later(user.pk)
    return vehicle, created


def vehicle_set_auto_pay(*, vehicle: Vehicle, auto_pay: bool) -> Vehicle:
    with transaction.atomic():
        Vehicle.objects.filter(pk=vehicle.pk).update(auto_pay=auto_pay)
        vehicle.auto_pay = auto_pay
        if auto_pay:
            _settle_later(vehicle.user_id)
    return vehicle


def vehicle_remove(*, vehicle: Vehicle) -> None:
    """Free the plate; past stays keep their owner."""
    vehicle.delete()


def _settle_later(user_id: int) -> None:
    from .tasks import enqueue_settle

    transaction.on_commit(lambda: enqueue_settle(user_id))
