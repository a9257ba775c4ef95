"""Lots and their tariffs, occupancy, and stays: the entry and exit cameras' events, which open and
close a parking session and tell the exit barrier whether to open."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Organization
from config.errors import DomainError

from ..models import Lot, ParkingPayment, ParkingSession, Tariff, Vehicle
from ..plates import camera_plate, plate_kind
from ..selectors import snapshot, tariff_for
from ..tariffs import TariffRule
from .payments import Autodebit, locked_payments, merchant_cover_locked, payment_autodebit, unpaid_payment_sync
from .vehicles import default_vehicle_type

# A camera's clock may run a little ahead of ours; anything later than this is refused.
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Camera events older than this are refused too (a replayed or mistyped event).
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
            gettext_noop("Your organization already has a lot with this name."),
            details={"name": ["Your organization already has a lot with this name."]},
        ) from exc
    return Lot.objects.prefetch_related("tariffs").get(pk=lot.pk)


def lot_recount_occupancy(*, lot_id: int) -> int:
    """Set a lot's occupancy to the number of cars parked in it (repairs drift after manual fixes).
    Under the lot's row lock, so no camera event moves the counter meanwhile."""
    with transaction.atomic():
        lot = Lot.objects.select_for_update().get(pk=lot_id)
        parked = ParkingSession.objects.filter(lot=lot, status=ParkingSession.Status.OPEN).count()
        if parked > lot.capacity:
            raise DomainError(
                "invalid_state",
                gettext_noop("More cars are parked than the lot holds; raise its capacity first."),
                details={"parked": parked, "capacity": lot.capacity},
            )
        Lot.objects.filter(pk=lot.pk).update(occupancy=parked)
    return parked


# --- camera events: entry and exit ----------------------------------------------------------------


def _check_event_time(at: datetime, *, field: str = "at") -> None:
    now = timezone.now()
    if at > now + MAX_CLOCK_SKEW:
        raise DomainError(
            "validation_error", gettext_noop("This time is in the future."), details={field: ["Is in the future."]}
        )
    if at < now - MAX_EVENT_AGE:
        raise DomainError(
            "validation_error", gettext_noop("This time is too far in the past."), details={field: ["Is too old."]}
        )


def session_enter(*, lot: Lot, plate: str, at: datetime, vehicle_type: str | None = None) -> ParkingSession:
    """A car seen by the entry camera. One open session per plate and lot (database constraint);
    the occupancy grows by a conditional UPDATE that refuses a full lot. Any plate the camera read is
    taken (the barrier must not stay shut for a paying car); its kind is recorded for the operator."""
    plate = camera_plate(plate)
    _check_event_time(at)
    vehicle = Vehicle.objects.filter(plate=plate).first()
    if vehicle_type is None:
        vehicle_type = vehicle.vehicle_type if vehicle is not None else default_vehicle_type(plate)
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
                gettext_noop("This car left the lot after that time."),
                details={"at": ["Is before this car's last exit from this lot."]},
            )
        try:
            with transaction.atomic():
                session = ParkingSession.objects.create(
                    lot=lot,
                    plate=plate,
                    plate_kind=plate_kind(plate),
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


class Barrier(enum.StrEnum):
    """What the exit barrier does: open, or stay down until the fee is paid (the exit API's `gate`)."""

    OPEN = "open"
    PAY_REQUIRED = "pay_required"


@dataclass(frozen=True)
class ExitResult:
    session: ParkingSession
    fee: int
    due: int
    barrier: Barrier
    payment: ParkingPayment | None


def session_exit(*, lot: Lot, plate: str, at: datetime) -> ExitResult:
    """A car seen by the exit camera. Closes the session at the tariff price of the stay (or at what
    was paid, when it leaves within the grace period of its last payment) and writes the open
    payment for the rest.

    The auto-debit runs synchronously, right after the session is closed and committed, through the
    same service the Celery tasks call (`payment_autodebit`): the result's `barrier` is the truth at
    that moment, "open" only when nothing is owed or the money moved."""
    plate = camera_plate(plate)
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
                "validation_error",
                gettext_noop("The exit is before the entry."),
                details={"at": ["Is before the entry."]},
            )
        session.lot = lot
        payments = locked_payments(session)
        snap = snapshot(session, at, payments=payments)
        session.status = ParkingSession.Status.CLOSED
        session.exited_at = at
        session.fee = snap.fee
        session.save(update_fields=["status", "exited_at", "fee"])
        Lot.objects.filter(pk=lot.pk, occupancy__gt=0).update(occupancy=F("occupancy") - 1)
        payment = unpaid_payment_sync(session, payments, due=snap.due, priced_until=at)
        if payment is not None and merchant_cover_locked(session, payments, payment):
            return ExitResult(session=session, fee=snap.fee, due=0, barrier=Barrier.OPEN, payment=payment)
    barrier, due = Barrier.OPEN, 0
    if payment is not None:
        outcome = Autodebit.NOT_ELIGIBLE
        if session.user_id is not None:  # an unregistered car cannot be auto-debited
            outcome = payment_autodebit(payment_id=payment.pk)
            payment.refresh_from_db()
        if outcome not in (Autodebit.PAID, Autodebit.ALREADY_PAID):
            barrier, due = Barrier.PAY_REQUIRED, payment.amount
    return ExitResult(session=session, fee=snap.fee, due=due, barrier=barrier, payment=payment)
