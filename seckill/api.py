"""The purchase endpoint: POST /api/v1/vouchers/{id}/purchase -> 201 (database gate, written) or
202 (Redis gate, accepted; the order reads `processing` until the intake writes it)."""

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from orders.serializers import OrderSerializer

from .auth import CachedTokenAuthentication
from .purchase import voucher_purchase
from .soldout import refuse_before_auth
from .throttles import FastPurchaseThrottle

# One bound serializer, reused: a ModelSerializer rebuilds its fields from the model on every
# instantiation (about half a millisecond here); representing an order reads no state of its own.
_order_body = OrderSerializer().to_representation


class PurchaseView(APIView):
    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    throttle_classes = [FastPurchaseThrottle]

    def initial(self, request, *args, **kwargs):
        # The sale's public state first (sold out, not started, ended: 409 before the token check,
        # not throttled, no database), in one Redis round trip that also reads the token's entry.
        if request.method == "POST":  # any other method is a 405, whatever the sale's state
            refuse_before_auth(request._request, kwargs["voucher_id"])
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request=None,
        description=(
            "Buy one unit: 201 with the written order (database gate) or 202 with a `processing` order "
            "(flash sale through the Redis gate). A flash sale's public state (409 `sold_out`, "
            "`not_started`, `ended`) is answered before the token is checked, to any request that "
            "carries credentials and no Idempotency-Key; without credentials the answer is 401."
        ),
        responses={
            201: inline_serializer("Purchased", {"order": OrderSerializer()}),
            202: inline_serializer("PurchaseAccepted", {"order": OrderSerializer(help_text="A `processing` order.")}),
        },
    )
    @idempotent
    def post(self, request, voucher_id: int):
        result = voucher_purchase(
            voucher_id=voucher_id,
            user=request.user,
            peeked=getattr(request._request, "gate_peek", None),
        )
        return Response({"order": _order_body(result.order)}, status=202 if result.accepted_async else 201)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code in (409, 429):
            # Sold out, limit, window, throttled: the expected answers of a flash sale, by the
            # thousand. Django would log each as a WARNING (django.request); they are not incidents.
            response._has_been_logged = True
        return response


urlpatterns = [
    path("vouchers/<int:voucher_id>/purchase", PurchaseView.as_view(), name="api-voucher-purchase"),
]
