"""The purchase endpoint: POST /api/v1/vouchers/{id}/purchase -> 201 (database gate, written) or
202 (Redis gate, accepted; the order reads `processing` until the intake writes it)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import PurchaseThrottle, idempotent
from orders.serializers import OrderSerializer

from .auth import CachedTokenAuthentication
from .services import voucher_purchase


class PurchaseView(APIView):
    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    throttle_classes = [PurchaseThrottle]

    @extend_schema(request=None, responses={201: OrderSerializer, 202: OrderSerializer})
    @idempotent
    def post(self, request, voucher_id: int):
        result = voucher_purchase(
            voucher_id=voucher_id, user=request.user, idempotency_key=request.headers.get("Idempotency-Key")
        )
        return Response({"order": OrderSerializer(result.order).data}, status=202 if result.accepted_async else 201)


urlpatterns = [
    path("vouchers/<int:voucher_id>/purchase", PurchaseView.as_view(), name="api-voucher-purchase"),
]
