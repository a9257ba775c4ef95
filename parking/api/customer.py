"""Customer API: my vehicles, my stays and their fee, and paying a parking payment (API.md,
"Customer API")."""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from config.api import MoneyThrottle, iso_time

from .. import selectors
from ..models import ParkingPayment
from ..services.payments import merchant_offer, payment_pay, payment_refresh
from ..services.vehicles import vehicle_register, vehicle_remove, vehicle_set_auto_pay
from .partners import ErrorSerializer
from .representations import (
    VEHICLE_TYPES,
    ParkingPaymentSerializer,
    VehiclePlateField,
    payment_data,
    payment_schema,
    session_data,
    session_schema,
    sessions_data,
    vehicle_data,
    vehicle_schema,
)

# --- serializers ------------------------------------------------------------------------------------


class VehicleRegisterSerializer(serializers.Serializer):
    plate = VehiclePlateField()
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


# --- views ------------------------------------------------------------------------------------------


class VehiclesView(APIView):
    @extend_schema(responses={200: vehicle_schema.__class__(many=True)})
    def get(self, request):
        return Response([vehicle_data(v) for v in selectors.vehicles_for_customer(request.user)])

    @extend_schema(
        request=VehicleRegisterSerializer,
        responses={201: vehicle_schema, 200: vehicle_schema},
    )
    def post(self, request):
        ser = VehicleRegisterSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        vehicle, created = vehicle_register(user=request.user, **ser.validated_data)
        return Response(vehicle_data(vehicle), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class VehicleDetailView(APIView):
    @extend_schema(responses={200: vehicle_schema})
    def get(self, request, vehicle_id):
        return Response(vehicle_data(selectors.vehicle_for_customer(request.user, vehicle_id)))

    @extend_schema(
        request=VehicleUpdateSerializer,
        responses={200: vehicle_schema},
    )
    def patch(self, request, vehicle_id):
        vehicle = selectors.vehicle_for_customer(request.user, vehicle_id)
        ser = VehicleUpdateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        return Response(vehicle_data(vehicle_set_auto_pay(vehicle=vehicle, **ser.validated_data)))

    @extend_schema(responses={204: None})
    def delete(self, request, vehicle_id):
        vehicle_remove(vehicle=selectors.vehicle_for_customer(request.user, vehicle_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionsView(APIView):
    @extend_schema(operation_id="parking_sessions_list", responses={200: session_schema.__class__(many=True)})
    def get(self, request):
        return Response(sessions_data(selectors.sessions_for_customer(request.user)[:200]))


class SessionDetailView(APIView):
    @extend_schema(responses={200: session_schema})
    def get(self, request, session_id):
        return Response(session_data(selectors.session_for_customer(request.user, session_id)))


class MerchantCouponSerializer(serializers.Serializer):
    """A shop's coupon issued to this car. It applies by itself when the payment is paid without a
    coupon of the driver's own (and at an auto-paid exit)."""

    merchant = serializers.CharField(help_text="The shop that gave it.")
    discount = serializers.IntegerField(help_text="Fen it takes off the unpaid payment's fee.")
    amount = serializers.IntegerField(help_text="Fen left to pay from the wallet with it.")


class FeeSerializer(serializers.Serializer):
    fee = serializers.IntegerField(help_text="The tariff's price of the stay so far (of the whole stay once closed).")
    due = serializers.IntegerField(help_text="What is still unpaid.")
    paid = serializers.IntegerField(help_text="Money charged so far.")
    leave_by = serializers.DateTimeField(allow_null=True, help_text="End of the grace period after the last payment.")
    payment = ParkingPaymentSerializer(allow_null=True)
    merchant_coupon = MerchantCouponSerializer(
        allow_null=True, help_text="The shop's coupon the unpaid payment would take, or null."
    )


class SessionFeeView(APIView):
    @extend_schema(
        responses={
            200: FeeSerializer,
            401: OpenApiResponse(ErrorSerializer, description="`not_authenticated`."),
            404: OpenApiResponse(ErrorSerializer, description="`not_found`: no such stay of yours."),
        }
    )
    def get(self, request, session_id):
        """The one GET that writes, because the contract says so: asking for the fee of an open stay
        "creates or refreshes its payment" for the amount due now. The write is the
        `payment_refresh` service's (session lock, one unpaid payment per stay)."""
        session = selectors.session_for_customer(request.user, session_id)
        snap, payment = payment_refresh(session=session)
        offer = None
        if payment is not None and payment.status == ParkingPayment.Status.UNPAID:
            offer = merchant_offer(session=session, fee=payment.fee, covered=snap.covered, until=payment.priced_until)
        return Response(
            {
                "fee": snap.fee,
                "due": snap.due,
                "paid": snap.paid,
                "leave_by": iso_time(snap.leave_by),
                "payment": payment_data(payment),
                "merchant_coupon": (
                    {"merchant": offer.merchant, "discount": offer.discount, "amount": offer.amount} if offer else None
                ),
            }
        )


class PaymentDetailView(APIView):
    @extend_schema(responses={200: payment_schema})
    def get(self, request, payment_id):
        return Response(payment_data(selectors.payment_for_customer(request.user, payment_id)))


class PaymentPayView(APIView):
    throttle_classes = [MoneyThrottle]

    @extend_schema(
        request=ParkingPaySerializer,
        description="Without a `coupon`, a shop's coupon issued to the car applies by itself (see the fee "
        "answer's `merchant_coupon`). Accepts an `Idempotency-Key` header.",
        responses={
            200: payment_schema,
            400: OpenApiResponse(ErrorSerializer, description="`validation_error`: `coupon` is not an order id."),
            401: OpenApiResponse(ErrorSerializer, description="`not_authenticated`."),
            404: OpenApiResponse(ErrorSerializer, description="`not_found`: no such payment or coupon of yours."),
            409: OpenApiResponse(
                ErrorSerializer,
                description="`insufficient_funds`; `invalid_state`: already paid, or the coupon does not apply "
                "(`details.coupon`: its status, `not_applicable`, or `partner_cap_reached` when the lot's "
                "partnership with the coupon's organization is at its monthly cap); `idempotency_conflict`.",
            ),
        },
    )
    @idempotent
    def post(self, request, payment_id):
        selectors.payment_for_customer(request.user, payment_id)
        ser = ParkingPaySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        payment = payment_pay(payment_id=payment_id, user=request.user, coupon_id=ser.validated_data["coupon"])
        return Response(payment_data(payment))


urlpatterns = [
    path("vehicles", VehiclesView.as_view(), name="api-vehicles"),
    path("vehicles/<int:vehicle_id>", VehicleDetailView.as_view(), name="api-vehicle"),
    path("parking/sessions", SessionsView.as_view(), name="api-parking-sessions"),
    path("parking/sessions/<int:session_id>", SessionDetailView.as_view(), name="api-parking-session"),
    path("parking/sessions/<int:session_id>/fee", SessionFeeView.as_view(), name="api-parking-session-fee"),
    path("parking/payments/<int:payment_id>", PaymentDetailView.as_view(), name="api-parking-payment"),
    path("parking/payments/<int:payment_id>/pay", PaymentPayView.as_view(), name="api-parking-payment-pay"),
]
