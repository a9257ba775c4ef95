"""Parking API: operator lots, quotes and gate events; customer vehicles, sessions, fees and
parking payments (API.md)."""

from datetime import timedelta

from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.scoping import operator_of
from config.api import MoneyThrottle
from config.errors import DomainError

from . import selectors, services
from .models import Lot, ParkingPayment, ParkingSession, Tariff, Vehicle
from .plates import is_valid_plate, normalize_plate
from .tariffs import fee_for_stay, parse_rule

VEHICLE_TYPES = Tariff.VehicleType.values
MAX_QUOTE = timedelta(days=366)


class IsOperator(BasePermission):
    message = "Only operators of an organization may do this."

    def has_permission(self, request, view):
        return operator_of(request.user) is not None


class CanWrite(BasePermission):
    message = "Your role may not change lots."

    def has_permission(self, request, view):
        op = operator_of(request.user)
        return op is not None and op.can_write


# --- representations ------------------------------------------------------------------------------

_DT = serializers.DateTimeField()


def _dt(value):
    """Times as strings here, so an Idempotency-Key replay answers byte for byte the same."""
    return _DT.to_representation(value) if value is not None else None


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
        "vehicle_type": session.vehicle_type,
        "entered_at": _dt(session.entered_at),
        "exited_at": _dt(session.exited_at),
        "fee": snap.fee,
        "paid": snap.paid,
        "discount": snap.discount,
        "due": snap.due,
        "status": session.status,
        "leave_by": _dt(snap.leave_by),
    }


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
        "priced_until": _dt(payment.priced_until),
        "paid_at": _dt(payment.paid_at),
    }


def vehicle_data(vehicle: Vehicle) -> dict:
    return {
        "id": vehicle.pk,
        "plate": vehicle.plate,
        "vehicle_type": vehicle.vehicle_type,
        "auto_pay": vehicle.auto_pay,
        "created_at": _dt(vehicle.created_at),
    }


# --- serializers ------------------------------------------------------------------------------------


class GateTimeField(serializers.DateTimeField):
    """A time, with an offset or in the product's time zone. DRF lets a naive time that falls off
    the calendar once made aware (e.g. 0001-01-01T00:00:00 at +08:00) escape as an OverflowError;
    here it is the field's `overflow` validation error."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


class PlateField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=32, **kwargs)

    def to_internal_value(self, data):
        plate = normalize_plate(super().to_internal_value(data))
        if not is_valid_plate(plate):
            raise serializers.ValidationError("Enter a plate such as 粤B12345 (or 粤BD12345 for a new-energy car).")
        return plate


@extend_schema_field(OpenApiTypes.OBJECT)
class TariffField(serializers.Field):
    def to_internal_value(self, data):
        try:
            return parse_rule(data, field="tariff")
        except DomainError as exc:
            raise serializers.ValidationError(exc.details.get("tariff", exc.message)) from exc


class LotCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    capacity = serializers.IntegerField(min_value=1, max_value=100_000)
    tariff = TariffField()
    tariffs = serializers.DictField(child=TariffField(), required=False)
    grace_minutes = serializers.IntegerField(min_value=0, max_value=240, required=False, default=15)

    def validate_tariffs(self, value):
        unknown = sorted(set(value) - set(VEHICLE_TYPES))
        if unknown:
            raise serializers.ValidationError(f"Unknown vehicle types: {', '.join(unknown)}.")
        return value

    def validate(self, attrs):
        small = attrs.get("tariffs", {}).get(Tariff.VehicleType.SMALL)
        if small is not None and small != attrs["tariff"]:
            raise serializers.ValidationError({"tariffs": {"small": ["Must equal tariff (the small-car tariff)."]}})
        return attrs


class LotQuoteSerializer(serializers.Serializer):
    entered_at = GateTimeField()
    exited_at = GateTimeField()
    vehicle_type = serializers.ChoiceField(choices=VEHICLE_TYPES, required=False, default="small")

    def validate(self, attrs):
        if attrs["exited_at"] < attrs["entered_at"]:
            raise serializers.ValidationError({"exited_at": ["Must not be before entered_at."]})
        if attrs["exited_at"] - attrs["entered_at"] > MAX_QUOTE:
            raise serializers.ValidationError({"exited_at": [f"At most {MAX_QUOTE.days} days after entered_at."]})
        return attrs


class GateEventSerializer(serializers.Serializer):
    plate = PlateField()
    at = GateTimeField()


class GateEntrySerializer(GateEventSerializer):
    vehicle_type = serializers.ChoiceField(choices=VEHICLE_TYPES, required=False)


class VehicleRegisterSerializer(serializers.Serializer):
    plate = PlateField()
    auto_pay = serializers.BooleanField(required=False, default=False)
    vehicle_type = serializers.ChoiceField(choices=VEHICLE_TYPES, required=False)


class VehicleUpdateSerializer(serializers.Serializer):
    auto_pay = serializers.BooleanField()


class StrictUUIDField(serializers.UUIDField):
    """An order id as a string: integers and booleans are not ids."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class ParkingPaySerializer(serializers.Serializer):
    coupon = StrictUUIDField(required=False, allow_null=True, default=None)


_session_schema = inline_serializer(
    "ParkingSession",
    {
        "id": serializers.IntegerField(),
        "lot": serializers.IntegerField(),
        "plate": serializers.CharField(),
        "entered_at": serializers.DateTimeField(),
        "exited_at": serializers.DateTimeField(allow_null=True),
        "fee": serializers.IntegerField(),
        "paid": serializers.IntegerField(),
        "status": serializers.CharField(),
    },
)
_payment_schema = inline_serializer(
    "ParkingPayment",
    {
        "id": serializers.IntegerField(),
        "session": serializers.IntegerField(),
        "fee": serializers.IntegerField(),
        "discount": serializers.IntegerField(),
        "amount": serializers.IntegerField(),
        "status": serializers.CharField(),
        "coupon": serializers.UUIDField(allow_null=True),
    },
)


_session_list = inline_serializer("ParkingSessionList", {"id": serializers.IntegerField()}, many=True)


# --- operator views -------------------------------------------------------------------------------


class LotsView(APIView):
    permission_classes = [IsOperator]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsOperator(), CanWrite()]
        return super().get_permissions()

    @extend_schema(responses={200: inline_serializer("LotList", {"id": serializers.IntegerField()}, many=True)})
    def get(self, request):
        return Response([lot_data(lot) for lot in selectors.lots_for_operator(request.user)])

    @extend_schema(
        request=LotCreateSerializer, responses={201: inline_serializer("Lot", {"id": serializers.IntegerField()})}
    )
    def post(self, request):
        ser = LotCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lot = services.lot_create(organization=operator_of(request.user).organization, **ser.validated_data)
        return Response(lot_data(lot), status=status.HTTP_201_CREATED)


class LotDetailView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses={200: inline_serializer("LotDetail", {"id": serializers.IntegerField()})})
    def get(self, request, lot_id):
        return Response(lot_data(selectors.lot_for_operator(request.user, lot_id)))


class QuoteView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=LotQuoteSerializer,
        responses={200: inline_serializer("QuoteAnswer", {"fee": serializers.IntegerField()})},
    )
    def post(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        ser = LotQuoteSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        rule = selectors.tariff_for(lot, data["vehicle_type"])
        fee = fee_for_stay(rule, data["entered_at"], data["exited_at"], tz=timezone.get_default_timezone())
        return Response({"fee": fee})


class LotSessionsView(APIView):
    """The lot's stays, newest first (200 at most); `?status=open|closed|unpaid`."""

    permission_classes = [IsOperator]

    @extend_schema(responses={200: _session_list})
    def get(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        status_filter = request.query_params.get("status") or None
        if status_filter not in (None, "open", "closed", "unpaid"):
            raise DomainError(
                "validation_error",
                "Unknown status filter.",
                details={"status": ["Must be open, closed or unpaid."]},
            )
        now = timezone.now()
        sessions = selectors.sessions_for_lot(lot, status=status_filter)[:200]
        return Response([session_data(s, selectors.snapshot(s, now)) for s in sessions])


class EntryView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=GateEntrySerializer, responses={201: inline_serializer("EntryAnswer", {"session": _session_schema})}
    )
    @idempotent
    def post(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        ser = GateEntrySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        session = services.session_enter(lot=lot, **ser.validated_data)
        session.lot = lot
        return Response({"session": session_data(session)}, status=status.HTTP_201_CREATED)


class ExitView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(
        request=GateEventSerializer,
        responses={
            200: inline_serializer(
                "ExitAnswer",
                {
                    "session": _session_schema,
                    "fee": serializers.IntegerField(),
                    "due": serializers.IntegerField(),
                    "gate": serializers.ChoiceField(choices=["open", "pay_required"]),
                    "payment": _payment_schema,
                },
            )
        },
    )
    @idempotent
    def post(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        ser = GateEventSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = services.session_exit(lot=lot, **ser.validated_data)
        session = selectors.session_for_lot(lot, result.session.pk)
        return Response(
            {
                "session": session_data(session),
                "fee": result.fee,
                "due": result.due,
                "gate": result.gate.value,
                "payment": payment_data(result.payment),
            }
        )


# --- customer views ---------------------------------------------------------------------------------


class VehiclesView(APIView):
    @extend_schema(responses={200: inline_serializer("VehicleList", {"id": serializers.IntegerField()}, many=True)})
    def get(self, request):
        return Response([vehicle_data(v) for v in selectors.vehicles_for_customer(request.user)])

    @extend_schema(
        request=VehicleRegisterSerializer,
        responses={201: inline_serializer("VehicleOut", {"id": serializers.IntegerField()})},
    )
    def post(self, request):
        ser = VehicleRegisterSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        vehicle, created = services.vehicle_register(user=request.user, **ser.validated_data)
        return Response(vehicle_data(vehicle), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class VehicleDetailView(APIView):
    @extend_schema(responses={200: inline_serializer("VehicleDetail", {"id": serializers.IntegerField()})})
    def get(self, request, vehicle_id):
        return Response(vehicle_data(selectors.vehicle_for_customer(request.user, vehicle_id)))

    @extend_schema(
        request=VehicleUpdateSerializer,
        responses={200: inline_serializer("VehicleUpdated", {"id": serializers.IntegerField()})},
    )
    def patch(self, request, vehicle_id):
        vehicle = selectors.vehicle_for_customer(request.user, vehicle_id)
        ser = VehicleUpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return Response(vehicle_data(services.vehicle_set_auto_pay(vehicle=vehicle, **ser.validated_data)))

    @extend_schema(responses={204: None})
    def delete(self, request, vehicle_id):
        services.vehicle_remove(vehicle=selectors.vehicle_for_customer(request.user, vehicle_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionsView(APIView):
    @extend_schema(operation_id="parking_sessions_list", responses={200: _session_list})
    def get(self, request):
        now = timezone.now()
        return Response(
            [session_data(s, selectors.snapshot(s, now)) for s in selectors.sessions_for_customer(request.user)[:200]]
        )


class SessionDetailView(APIView):
    @extend_schema(responses={200: _session_schema})
    def get(self, request, session_id):
        return Response(session_data(selectors.session_for_customer(request.user, session_id)))


class SessionFeeView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "Fee",
                {"fee": serializers.IntegerField(), "due": serializers.IntegerField(), "payment": _payment_schema},
            )
        }
    )
    def get(self, request, session_id):
        session = selectors.session_for_customer(request.user, session_id)
        snap, payment = services.payment_refresh(session=session)
        return Response(
            {
                "fee": snap.fee,
                "due": snap.due,
                "paid": snap.paid,
                "leave_by": _dt(snap.leave_by),
                "payment": payment_data(payment),
            }
        )


class PaymentDetailView(APIView):
    @extend_schema(responses={200: _payment_schema})
    def get(self, request, payment_id):
        return Response(payment_data(selectors.payment_for_customer(request.user, payment_id)))


class PaymentPayView(APIView):
    throttle_classes = [MoneyThrottle]

    @extend_schema(request=ParkingPaySerializer, responses={200: _payment_schema})
    @idempotent
    def post(self, request, payment_id):
        selectors.payment_for_customer(request.user, payment_id)
        ser = ParkingPaySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        payment = services.payment_pay(payment_id=payment_id, user=request.user, coupon_id=ser.validated_data["coupon"])
        return Response(payment_data(payment))


urlpatterns = [
    path("operator/lots", LotsView.as_view(), name="api-operator-lots"),
    path("operator/lots/<int:lot_id>", LotDetailView.as_view(), name="api-operator-lot"),
    path("operator/lots/<int:lot_id>/quote", QuoteView.as_view(), name="api-operator-lot-quote"),
    path("operator/lots/<int:lot_id>/sessions", LotSessionsView.as_view(), name="api-operator-lot-sessions"),
    path("operator/lots/<int:lot_id>/entries", EntryView.as_view(), name="api-operator-lot-entries"),
    path("operator/lots/<int:lot_id>/exits", ExitView.as_view(), name="api-operator-lot-exits"),
    path("vehicles", VehiclesView.as_view(), name="api-vehicles"),
    path("vehicles/<int:vehicle_id>", VehicleDetailView.as_view(), name="api-vehicle"),
    path("parking/sessions", SessionsView.as_view(), name="api-parking-sessions"),
    path("parking/sessions/<int:session_id>", SessionDetailView.as_view(), name="api-parking-session"),
    path("parking/sessions/<int:session_id>/fee", SessionFeeView.as_view(), name="api-parking-session-fee"),
    path("parking/payments/<int:payment_id>", PaymentDetailView.as_view(), name="api-parking-payment"),
    path("parking/payments/<int:payment_id>/pay", PaymentPayView.as_view(), name="api-parking-payment-pay"),
]
