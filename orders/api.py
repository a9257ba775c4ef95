"""Orders API: list, detail, pay, cancel, refund (customer token)."""

import uuid

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from config.api import MoneyThrottle, PurchaseThrottle, QueryChoiceField
from config.errors import DomainError

from .models import Order
from .selectors import order_for_customer, orders_of_customer, pending_order
from .serializers import OrderActionSerializer, OrderPaySerializer, OrderSerializer
from .services import order_cancel, order_pay, order_refund
from .tasks import expire_soon

LIST_LIMIT = 200


def _json_object(request) -> dict:
    """The body as a dict (an absent body is an empty one); anything that is not a JSON object,
    `null` included, is a 400."""
    data = request.data
    if not isinstance(data, dict):
        raise serializers.ValidationError({"non_field_errors": ["Expected a JSON object."]})
    return data


def _act(request, order_id: uuid.UUID, action):
    """Run an order action; an order the gate accepted but the intake has not written yet is
    `invalid_state` (status `processing`), not a 404: it exists for its owner."""
    try:
        return action()
    except DomainError as exc:
        if exc.code == "not_found" and pending_order(user_id=request.user.pk, order_id=order_id) is not None:
            raise DomainError(
                "invalid_state",
                gettext_noop("This order is still being processed; try again in a moment."),
                details={"status": Order.Status.PROCESSING},
            ) from exc
        raise


def _expire_if_overdue(user, orders: list[Order]) -> None:
    now = timezone.now()
    if any(order.is_overdue(now) for order in orders):
        expire_soon(user_id=user.pk)


class OrderListQuery(serializers.Serializer):
    status = QueryChoiceField(choices=Order.Status.choices, required=False)


class OrderListView(APIView):
    @extend_schema(parameters=[OrderListQuery], responses={200: OrderSerializer(many=True)})
    def get(self, request):
        query = OrderListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        orders = orders_of_customer(user=request.user)
        if "status" in query.validated_data:
            orders = orders.filter(status=query.validated_data["status"])
        orders = list(orders[:LIST_LIMIT])
        _expire_if_overdue(request.user, orders)
        return Response(OrderSerializer(orders, many=True).data)


class OrderDetailView(APIView):
    @extend_schema(responses={200: OrderSerializer})
    def get(self, request, order_id: uuid.UUID):
        try:
            order = order_for_customer(user=request.user, order_id=order_id)
        except DomainError:
            order = pending_order(user_id=request.user.pk, order_id=order_id)
            if order is None:
                raise
        _expire_if_overdue(request.user, [order])
        return Response(OrderSerializer(order).data)


class OrderPayView(APIView):
    throttle_classes = [MoneyThrottle]

    @extend_schema(request=OrderPaySerializer, responses={200: OrderSerializer})
    @idempotent
    def post(self, request, order_id: uuid.UUID):
        ser = OrderPaySerializer(data=_json_object(request))
        ser.is_valid(raise_exception=True)
        method = ser.validated_data["method"]
        order = _act(request, order_id, lambda: order_pay(order_id=order_id, user=request.user, method=method))
        return Response(OrderSerializer(order).data)


class OrderCancelView(APIView):
    throttle_classes = [PurchaseThrottle]

    @extend_schema(request=OrderActionSerializer, responses={200: OrderSerializer})
    @idempotent
    def post(self, request, order_id: uuid.UUID):
        _json_object(request)
        order = _act(request, order_id, lambda: order_cancel(order_id=order_id, user=request.user))
        return Response(OrderSerializer(order).data)


class OrderRefundView(APIView):
    throttle_classes = [MoneyThrottle]

    @extend_schema(request=OrderActionSerializer, responses={200: OrderSerializer})
    @idempotent
    def post(self, request, order_id: uuid.UUID):
        _json_object(request)
        order = _act(request, order_id, lambda: order_refund(order_id=order_id, user=request.user))
        return Response(OrderSerializer(order).data)


urlpatterns = [
    path("orders", OrderListView.as_view(), name="api-orders"),
    path("orders/<uuid:order_id>", OrderDetailView.as_view(), name="api-order"),
    path("orders/<uuid:order_id>/pay", OrderPayView.as_view(), name="api-order-pay"),
    path("orders/<uuid:order_id>/cancel", OrderCancelView.as_view(), name="api-order-cancel"),
    path("orders/<uuid:order_id>/refund", OrderRefundView.as_view(), name="api-order-refund"),
]
