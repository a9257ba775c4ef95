"""Operator API: lots and their tariffs, fee quotes, a lot's stays, and the entry and exit
cameras' events (API.md, "Operator API"). The exit answers the barrier's state in the contract's
`gate` field."""

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
from config.api import AwareDateTimeField, QueryChoiceField, StrictCharField, StrictIntegerField
from config.errors import DomainError

from .. import selectors
from ..models import Tariff
from ..services.stays import lot_create, session_enter, session_exit
from ..tariffs import fee_for_stay, parse_rule
from .representations import (
    VEHICLE_TYPES,
    CameraPlateField,
    ParkingPaymentSerializer,
    lot_data,
    lot_schema,
    payment_data,
    session_data,
    session_schema,
    sessions_data,
)

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


# --- serializers ------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.OBJECT)
class TariffField(serializers.Field):
    def to_internal_value(self, data):
        try:
            return parse_rule(data, field="tariff")
        except DomainError as exc:
            raise serializers.ValidationError(exc.details.get("tariff", exc.message)) from exc


class LotCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=120)
    capacity = StrictIntegerField(min_value=1, max_value=100_000)
    tariff = TariffField()
    tariffs = serializers.DictField(child=TariffField(), required=False)
    grace_minutes = StrictIntegerField(min_value=0, max_value=240, required=False, default=15)

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
    """exited_at must not be before entered_at, nor more than 366 days after it."""

    entered_at = AwareDateTimeField()
    exited_at = AwareDateTimeField()
    vehicle_type = serializers.ChoiceField(choices=VEHICLE_TYPES, required=False, default="small")

    def validate(self, attrs):
        if attrs["exited_at"] < attrs["entered_at"]:
            raise serializers.ValidationError({"exited_at": ["Must not be before entered_at."]})
        if attrs["exited_at"] - attrs["entered_at"] > MAX_QUOTE:
            raise serializers.ValidationError({"exited_at": [f"At most {MAX_QUOTE.days} days after entered_at."]})
        return attrs


class CameraEventSerializer(serializers.Serializer):
    """A plate seen by a lot's camera, and when."""

    plate = CameraPlateField()
    at = AwareDateTimeField(
        help_text="When the camera saw the car: at most 5 minutes ahead and 366 days behind the server's clock; "
        "an exit not before its entry."
    )


class CameraEntrySerializer(CameraEventSerializer):
    vehicle_type = serializers.ChoiceField(choices=VEHICLE_TYPES, required=False)


class LotSessionsQuery(serializers.Serializer):
    status = QueryChoiceField(choices=["open", "closed", "unpaid"], required=False)


# --- views ------------------------------------------------------------------------------------------


class LotsView(APIView):
    permission_classes = [IsOperator]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsOperator(), CanWrite()]
        return super().get_permissions()

    @extend_schema(responses={200: lot_schema.__class__(many=True)})
    def get(self, request):
        return Response([lot_data(lot) for lot in selectors.lots_for_operator(request.user)])

    @extend_schema(request=LotCreateSerializer, responses={201: lot_schema})
    def post(self, request):
        ser = LotCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        lot = lot_create(organization=operator_of(request.user).organization, **ser.validated_data)
        return Response(lot_data(lot), status=status.HTTP_201_CREATED)


class LotDetailView(APIView):
    permission_classes = [IsOperator]

    @extend_schema(responses={200: lot_schema})
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

    @extend_schema(parameters=[LotSessionsQuery], responses={200: session_schema.__class__(many=True)})
    def get(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        query = LotSessionsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        status_filter = query.validated_data.get("status")
        return Response(sessions_data(selectors.sessions_for_lot(lot, status=status_filter)[:200]))


class EntryView(APIView):
    """The entry camera saw a car: its stay begins."""

    permission_classes = [IsOperator]

    @extend_schema(
        request=CameraEntrySerializer, responses={201: inline_serializer("EntryAnswer", {"session": session_schema})}
    )
    @idempotent
    def post(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        ser = CameraEntrySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        session = session_enter(lot=lot, **ser.validated_data)
        session.lot = lot
        return Response({"session": session_data(session)}, status=status.HTTP_201_CREATED)


class ExitView(APIView):
    """The exit camera saw a car: its stay ends, and the answer tells the barrier whether to open
    (the contract's `gate`: "open" or "pay_required")."""

    permission_classes = [IsOperator]

    @extend_schema(
        request=CameraEventSerializer,
        responses={
            200: inline_serializer(
                "ExitAnswer",
                {
                    "session": session_schema,
                    "fee": serializers.IntegerField(),
                    "due": serializers.IntegerField(),
                    "gate": serializers.ChoiceField(choices=["open", "pay_required"]),
                    "payment": ParkingPaymentSerializer(allow_null=True),
                },
            )
        },
    )
    @idempotent
    def post(self, request, lot_id):
        lot = selectors.lot_for_operator(request.user, lot_id)
        ser = CameraEventSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        result = session_exit(lot=lot, **ser.validated_data)
        session = selectors.session_for_lot(lot, result.session.pk)
        return Response(
            {
                "session": session_data(session),
                "fee": result.fee,
                "due": result.due,
                "gate": result.barrier.value,
                "payment": payment_data(result.payment),
            }
        )


urlpatterns = [
    path("operator/lots", LotsView.as_view(), name="api-operator-lots"),
    path("operator/lots/<int:lot_id>", LotDetailView.as_view(), name="api-operator-lot"),
    path("operator/lots/<int:lot_id>/quote", QuoteView.as_view(), name="api-operator-lot-quote"),
    path("operator/lots/<int:lot_id>/sessions", LotSessionsView.as_view(), name="api-operator-lot-sessions"),
    path("operator/lots/<int:lot_id>/entries", EntryView.as_view(), name="api-operator-lot-entries"),
    path("operator/lots/<int:lot_id>/exits", ExitView.as_view(), name="api-operator-lot-exits"),
]
