"""Vouchers over the API: the operator's (create, list, change, publish, delist, restock) and the
customer's (list on sale, one voucher with its live stock and sale status). The purchase lives in
seckill/api.py."""

from django.db.models import Q
from django.urls import path
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.scoping import operator_required
from config.api import (
    MAX_MONEY,
    AwareDateTimeField,
    QueryChoiceField,
    QueryIdField,
    StrictCharField,
    StrictIntegerField,
    StrictMoneyField,
    iso_time,
)
from config.errors import DomainError

from . import selectors, services
from .models import Voucher


def voucher_body(voucher: Voucher) -> dict:
    """The contract's voucher: benefit as {"type", "value"}; money in minor units."""
    return {
        "id": voucher.pk,
        "organization": voucher.organization_id,
        "lot": voucher.lot_id,
        "title": voucher.title,
        "kind": voucher.kind,
        "price": voucher.price,
        "benefit": voucher.benefit,
        "stock": voucher.stock,
        "begins_at": iso_time(voucher.begins_at),
        "ends_at": iso_time(voucher.ends_at),
        "per_user_limit": voucher.per_user_limit,
        "payment_window_seconds": voucher.payment_window_seconds,
        "low_stock_threshold": voucher.low_stock_threshold,
    }


def operator_voucher_body(voucher: Voucher) -> dict:
    sale = selectors.sale_state(voucher)
    return {
        **voucher_body(voucher),
        "status": voucher.status,
        "initial_stock": voucher.initial_stock,
        "sold_count": voucher.sold_count,
        "published_at": iso_time(voucher.published_at),
        "stock_remaining": sale["stock_remaining"],
        "sale_status": sale["status"],
    }


def customer_voucher_body(voucher: Voucher) -> dict:
    sale = selectors.sale_state(voucher)
    body = voucher_body(voucher)
    body["organization_name"] = voucher.organization.name
    body["lot_name"] = voucher.lot.name if voucher.lot_id else None
    body["stock"] = sale["stock_remaining"]
    body.update(sale)
    return body


class BenefitSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=Voucher.BenefitType.choices)
    value = StrictIntegerField(min_value=0, max_value=MAX_MONEY, required=False, default=0)


class VoucherInputSerializer(serializers.Serializer):
    lot = StrictIntegerField(allow_null=True, required=False, min_value=1)
    title = StrictCharField(max_length=120)
    kind = serializers.ChoiceField(choices=Voucher.Kind.choices, default=Voucher.Kind.NORMAL)
    price = StrictMoneyField(min_value=0)
    benefit = BenefitSerializer()
    stock = StrictIntegerField(allow_null=True, required=False, min_value=0, max_value=10_000_000)
    begins_at = AwareDateTimeField(allow_null=True, required=False)
    ends_at = AwareDateTimeField(allow_null=True, required=False)
    per_user_limit = StrictIntegerField(min_value=1, max_value=1000, required=False)
    payment_window_seconds = StrictIntegerField(min_value=60, max_value=7 * 24 * 3600, required=False)
    low_stock_threshold = StrictIntegerField(min_value=0, max_value=10_000_000, required=False)
    status = serializers.ChoiceField(choices=[("draft", "draft"), ("listed", "listed")], required=False)

    def to_fields(self) -> dict:
        data = dict(self.validated_data)
        benefit = data.pop("benefit", None)
        if benefit is not None:
            data["benefit_type"] = benefit["type"]
            data["benefit_value"] = benefit.get("value", 0)
        data.pop("status", None)
        return data

    def validate_lot(self, value):
        if value is None:
            return None
        org_id = self.context["organization_id"]
        if not selectors.lots_of_organization(org_id).filter(pk=value).exists():
            # Another organization's lot or none at all: the same answer, so ids leak nothing.
            raise serializers.ValidationError("No such lot in your organization.")
        return value


class RestockSerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=10_000_000)


def _writer(request):
    op = operator_required(request.user)
    if not op.can_write:
        raise DomainError("permission_denied", gettext_noop("Your role can read but not change vouchers."), status=403)
    return op


# --- OpenAPI shapes of the answers (the bodies are built by the functions above) -------------------


class BenefitOut(serializers.Serializer):
    type = serializers.ChoiceField(choices=Voucher.BenefitType.choices)
    value = serializers.IntegerField()


class VoucherOut(serializers.Serializer):
    id = serializers.IntegerField()
    organization = serializers.IntegerField()
    lot = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=Voucher.Kind.choices)
    price = serializers.IntegerField()
    benefit = BenefitOut()
    stock = serializers.IntegerField(allow_null=True)
    begins_at = serializers.DateTimeField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    per_user_limit = serializers.IntegerField()
    payment_window_seconds = serializers.IntegerField()
    low_stock_threshold = serializers.IntegerField()


SALE_STATUSES = ["upcoming", "on_sale", "sold_out", "ended", "delisted"]


class OperatorVoucherOut(VoucherOut):
    status = serializers.ChoiceField(choices=Voucher.Status.choices)
    initial_stock = serializers.IntegerField(allow_null=True)
    sold_count = serializers.IntegerField()
    published_at = serializers.DateTimeField(allow_null=True)
    stock_remaining = serializers.IntegerField(allow_null=True)
    sale_status = serializers.ChoiceField(choices=SALE_STATUSES)


class CustomerVoucherOut(VoucherOut):
    organization_name = serializers.CharField()
    lot_name = serializers.CharField(allow_null=True)
    stock_remaining = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=SALE_STATUSES)


class OperatorVoucherListQuery(serializers.Serializer):
    status = QueryChoiceField(choices=Voucher.Status.choices, required=False)


class OperatorVoucherListView(APIView):
    @extend_schema(
        operation_id="operator_vouchers_list",
        parameters=[OperatorVoucherListQuery],
        responses={200: OperatorVoucherOut(many=True)},
    )
    def get(self, request):
        query = OperatorVoucherListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        vouchers = selectors.vouchers_for_operator(request.user)
        if "status" in query.validated_data:
            vouchers = vouchers.filter(status=query.validated_data["status"])
        return Response([operator_voucher_body(v) for v in vouchers])

    @extend_schema(request=VoucherInputSerializer, responses={201: OperatorVoucherOut})
    def post(self, request):
        op = _writer(request)
        ser = VoucherInputSerializer(data=request.data, context={"organization_id": op.organization_id})
        ser.is_valid(raise_exception=True)
        publish = ser.validated_data.get("status", "listed") == "listed"
        voucher = services.voucher_create(organization=op.organization, data=ser.to_fields(), publish=publish)
        return Response(operator_voucher_body(voucher), status=status.HTTP_201_CREATED)


class OperatorVoucherDetailView(APIView):
    @extend_schema(responses={200: OperatorVoucherOut})
    def get(self, request, voucher_id: int):
        return Response(operator_voucher_body(selectors.voucher_for_operator(request.user, voucher_id)))

    @extend_schema(request=VoucherInputSerializer, responses={200: OperatorVoucherOut})
    def patch(self, request, voucher_id: int):
        op = _writer(request)
        voucher = selectors.voucher_for_operator(request.user, voucher_id)
        ser = VoucherInputSerializer(data=request.data, partial=True, context={"organization_id": op.organization_id})
        ser.is_valid(raise_exception=True)
        voucher = services.voucher_update(voucher_id=voucher.pk, data=ser.to_fields())
        wanted = ser.validated_data.get("status")
        if wanted == "listed" and voucher.status != Voucher.Status.LISTED:
            voucher = services.voucher_publish(voucher_id=voucher.pk)
        return Response(operator_voucher_body(voucher))


class OperatorVoucherPublishView(APIView):
    @extend_schema(request=None, responses={200: OperatorVoucherOut})
    def post(self, request, voucher_id: int):
        _writer(request)
        voucher = selectors.voucher_for_operator(request.user, voucher_id)
        return Response(operator_voucher_body(services.voucher_publish(voucher_id=voucher.pk)))


class OperatorVoucherDelistView(APIView):
    @extend_schema(request=None, responses={200: OperatorVoucherOut})
    def post(self, request, voucher_id: int):
        _writer(request)
        voucher = selectors.voucher_for_operator(request.user, voucher_id)
        return Response(operator_voucher_body(services.voucher_delist(voucher_id=voucher.pk)))


class OperatorVoucherRestockView(APIView):
    @extend_schema(request=RestockSerializer, responses={200: OperatorVoucherOut})
    def post(self, request, voucher_id: int):
        _writer(request)
        voucher = selectors.voucher_for_operator(request.user, voucher_id)
        ser = RestockSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        voucher = services.voucher_restock(voucher_id=voucher.pk, quantity=ser.validated_data["quantity"])
        return Response(operator_voucher_body(voucher))


class VoucherListQuery(serializers.Serializer):
    organization = QueryIdField(required=False)
    lot = QueryIdField(required=False)
    kind = QueryChoiceField(choices=Voucher.Kind.choices, required=False)


class VoucherListView(APIView):
    """Vouchers on sale (and flash sales coming up), optionally ?organization=, ?lot=, ?kind=."""

    @extend_schema(
        operation_id="vouchers_list", parameters=[VoucherListQuery], responses={200: CustomerVoucherOut(many=True)}
    )
    def get(self, request):
        query = VoucherListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        vouchers = selectors.vouchers_on_sale()
        if "organization" in wanted:
            vouchers = vouchers.filter(organization_id=wanted["organization"])
        if "lot" in wanted:
            lot_org = selectors.organization_of_lot(wanted["lot"])
            vouchers = vouchers.filter(Q(lot_id=wanted["lot"]) | Q(lot__isnull=True, organization_id=lot_org))
        if "kind" in wanted:
            vouchers = vouchers.filter(kind=wanted["kind"])
        return Response([customer_voucher_body(v) for v in vouchers])


class VoucherDetailView(APIView):
    @extend_schema(responses={200: CustomerVoucherOut})
    def get(self, request, voucher_id: int):
        return Response(customer_voucher_body(selectors.voucher_on_sale(voucher_id)))


urlpatterns = [
    path("operator/vouchers", OperatorVoucherListView.as_view(), name="api-operator-vouchers"),
    path("operator/vouchers/<int:voucher_id>", OperatorVoucherDetailView.as_view(), name="api-operator-voucher"),
    path(
        "operator/vouchers/<int:voucher_id>/publish",
        OperatorVoucherPublishView.as_view(),
        name="api-operator-voucher-publish",
    ),
    path(
        "operator/vouchers/<int:voucher_id>/delist",
        OperatorVoucherDelistView.as_view(),
        name="api-operator-voucher-delist",
    ),
    path(
        "operator/vouchers/<int:voucher_id>/restock",
        OperatorVoucherRestockView.as_view(),
        name="api-operator-voucher-restock",
    ),
    path("vouchers", VoucherListView.as_view(), name="api-vouchers"),
    path("vouchers/<int:voucher_id>", VoucherDetailView.as_view(), name="api-voucher"),
]
