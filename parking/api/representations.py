"""What the parking API answers: lots, sessions, payments and vehicles as JSON-ready dicts, the
input fields both sides share, and the OpenAPI shapes of the answers."""

from collections.abc import Iterable

from django.utils import timezone
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from config.api import iso_time
from config.errors import DomainError

from .. import selectors
from ..models import Lot, ParkingPayment, ParkingSession, Tariff, Vehicle
from ..plates import CAMERA_PLATE_HINT, PlateKind, camera_plate, registration_hint, registration_plate

VEHICLE_TYPES = Tariff.VehicleType.values

# --- answers --------------------------------------------------------------------------------------


def lot_data(lot: Lot) -> dict:
    tariffs = {t.vehicle_type: t.rule.as_dict() for t in lot.tariffs.all()}
    return {
        "id": lot.pk,
        "name": lot.name,
        "capacity": lot.capacity,
        "occupancy": lot.occupancy,
        "grace_minutes": lot.grace_minutes,
        "tariff": tariffs.get(Tariff.VehicleType.SMALL) or selectors.tariff_for(lot, "small").as_dict(),
        "tariffs": tariffs,
    }


def session_data(session: ParkingSession, snap: selectors.Snapshot | None = None) -> dict:
    snap = snap or selectors.snapshot(session)
    return {
        "id": session.pk,
        "lot": session.lot_id,
        "plate": session.plate,
        "plate_kind": session.plate_kind,
        "plate_unusual": session.plate_unusual,
        "vehicle_type": session.vehicle_type,
        "entered_at": iso_time(session.entered_at),
        "exited_at": iso_time(session.exited_at),
        "fee": snap.fee,
        "paid": snap.paid,
        "discount": snap.discount,
        "due": snap.due,
        "status": session.status,
        "leave_by": iso_time(snap.leave_by),
    }


def sessions_data(sessions: Iterable[ParkingSession]) -> list[dict]:
    """A list of stays, all priced at the same moment."""
    now = timezone.now()
    return [session_data(s, selectors.snapshot(s, now)) for s in sessions]


def payment_data(payment: ParkingPayment | None) -> dict | None:
    if payment is None:
        return None
    return {
        "id": payment.pk,
        "session": payment.session_id,
        "fee": payment.fee,
        "discount": payment.discount,
        "amount": payment.amount,
        "status": payment.status,
        "coupon": str(payment.coupon_id) if payment.coupon_id else None,
        "priced_until": iso_time(payment.priced_until),
        "paid_at": iso_time(payment.paid_at),
    }


def vehicle_data(vehicle: Vehicle) -> dict:
    return {
        "id": vehicle.pk,
        "plate": vehicle.plate,
        "vehicle_type": vehicle.vehicle_type,
        "auto_pay": vehicle.auto_pay,
        "created_at": iso_time(vehicle.created_at),
    }


# --- input fields -----------------------------------------------------------------------------------


class _PlateField(serializers.CharField):
    """A plate given as a JSON string (12345 is not a plate), cleaned by `clean`."""

    hint = ""

    def __init__(self, **kwargs):
        super().__init__(max_length=32, help_text=self.hint, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return self.clean(super().to_internal_value(data))
        except DomainError as exc:
            raise serializers.ValidationError(self.problem()) from exc


class CameraPlateField(_PlateField):
    """What a gate camera read: any plate up to 16 characters (parking/plates.py, camera_plate)."""

    hint = CAMERA_PLATE_HINT
    clean = staticmethod(camera_plate)

    def problem(self) -> str:
        return CAMERA_PLATE_HINT


class VehiclePlateField(_PlateField):
    """A plate a customer registers: `settings.VEHICLE_PLATE_RULE` ("cn" by default)."""

    hint = "A licence plate under the server's VEHICLE_PLATE_RULE (by default mainland, e.g. 粤B12345)."
    clean = staticmethod(registration_plate)

    def problem(self) -> str:
        return registration_hint()


# --- OpenAPI shapes ---------------------------------------------------------------------------------

lot_schema = inline_serializer(
    "Lot",
    {
        "id": serializers.IntegerField(),
        "name": serializers.CharField(),
        "capacity": serializers.IntegerField(),
        "occupancy": serializers.IntegerField(),
        "grace_minutes": serializers.IntegerField(),
        "tariff": serializers.DictField(help_text="The small-car tariff (API.md, Tariff)."),
        "tariffs": serializers.DictField(help_text="Tariff per vehicle type."),
    },
)
session_schema = inline_serializer(
    "ParkingSession",
    {
        "id": serializers.IntegerField(),
        "lot": serializers.IntegerField(),
        "plate": serializers.CharField(),
        "plate_kind": serializers.ChoiceField(choices=PlateKind.values),
        "plate_unusual": serializers.BooleanField(help_text="Not a mainland civil plate: for the operator's eye."),
        "vehicle_type": serializers.ChoiceField(choices=VEHICLE_TYPES),
        "entered_at": serializers.DateTimeField(),
        "exited_at": serializers.DateTimeField(allow_null=True),
        "fee": serializers.IntegerField(),
        "paid": serializers.IntegerField(),
        "discount": serializers.IntegerField(),
        "due": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=ParkingSession.Status.values),
        "leave_by": serializers.DateTimeField(allow_null=True),
    },
)


class ParkingPaymentSerializer(serializers.Serializer):
    """A stay's fee payment: `amount = fee - discount` is what was (or will be) charged."""

    id = serializers.IntegerField()
    session = serializers.IntegerField()
    fee = serializers.IntegerField()
    discount = serializers.IntegerField()
    amount = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ParkingPayment.Status.choices)
    coupon = serializers.UUIDField(allow_null=True)
    priced_until = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


payment_schema = ParkingPaymentSerializer
vehicle_schema = inline_serializer(
    "Vehicle",
    {
        "id": serializers.IntegerField(),
        "plate": serializers.CharField(),
        "vehicle_type": serializers.ChoiceField(choices=VEHICLE_TYPES),
        "auto_pay": serializers.BooleanField(),
        "created_at": serializers.DateTimeField(),
    },
)
