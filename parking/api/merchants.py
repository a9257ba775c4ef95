"""Merchants over the API. Operators register their organization's merchants and see each one's
quotas, issues and redemptions; a merchant (its account's token) buys quotas from its wallet and
issues coupons by plate or as claim links; a driver claims a link for one of their cars.
Another organization's merchant, or another merchant's quota, is 404."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path, reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.scoping import operator_required
from config.api import AwareDateTimeField, MoneyThrottle, StrictIntegerField, StrictMoneyField, iso_time
from config.errors import DomainError
from coupons.models import Voucher

from .. import selectors
from ..models import Merchant, MerchantIssue, MerchantMember, MerchantQuota
from ..services import merchants as services
from .partners import ErrorSerializer, LotRefSerializer
from .representations import VehiclePlateField

# --- answers --------------------------------------------------------------------------------------

ERRORS = {
    400: "`validation_error`: a field is missing or wrong; `details` names it.",
    401: "`not_authenticated`.",
    403: "`permission_denied`: not a merchant (merchant endpoints) or not an operator who may write.",
    404: "`not_found`.",
    409: "",
}


def errors(*codes: int, conflict: str = "") -> dict:
    out = {c: OpenApiResponse(ErrorSerializer, description=ERRORS[c]) for c in codes}
    if conflict:
        out[409] = OpenApiResponse(ErrorSerializer, description=conflict)
    return out


class MerchantBenefitSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=Voucher.BenefitType.choices)
    value = StrictIntegerField(min_value=0, max_value=100_000, help_text="Fen, minutes or percent by type.")


class MerchantSerializer(serializers.Serializer):
    """A merchant: the coupon it gives away (`benefit`) and what it pays per coupon (`unit_price`)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    organization = serializers.IntegerField()
    lots = LotRefSerializer(many=True)
    benefit = MerchantBenefitSerializer()
    unit_price = serializers.IntegerField(help_text="Fen per coupon.")
    account = serializers.CharField(help_text="The username the merchant logs in with.")
    active = serializers.BooleanField()


def merchant_body(m: Merchant) -> dict:
    return {
        "id": m.pk,
        "name": m.name,
        "organization": m.organization_id,
        "lots": [{"id": lot.pk, "name": lot.name} for lot in sorted(m.lots.all(), key=lambda lot: lot.pk)],
        "benefit": {"type": m.benefit_type, "value": m.benefit_value},
        "unit_price": m.unit_price,
        "account": m.account.get_username(),
        "active": m.active,
    }


class QuotaSerializer(serializers.Serializer):
    """A quota: `quantity` coupons bought for `price`; `issued` handed out (never more than
    `quantity`), `redeemed` applied to a fee. After `valid_until` the unredeemed ones are refunded
    once (`refund_amount`, `refunded_at`)."""

    id = serializers.IntegerField()
    merchant = serializers.IntegerField()
    benefit = MerchantBenefitSerializer()
    quantity = serializers.IntegerField()
    unit_price = serializers.IntegerField()
    price = serializers.IntegerField(help_text="Fen paid from the merchant's wallet.")
    issued = serializers.IntegerField()
    redeemed = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text="Coupons that can still be issued.")
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    refunded_at = serializers.DateTimeField(allow_null=True)
    refund_amount = serializers.IntegerField()
    created_at = serializers.DateTimeField()


def quota_body(q: MerchantQuota) -> dict:
    return {
        "id": q.pk,
        "merchant": q.merchant_id,
        "benefit": {"type": q.benefit_type, "value": q.benefit_value},
        "quantity": q.quantity,
        "unit_price": q.unit_price,
        "price": q.price,
        "issued": q.issued,
        "redeemed": q.redeemed,
        "remaining": q.quantity - q.issued,
        "valid_from": iso_time(q.valid_from),
        "valid_until": iso_time(q.valid_until),
        "refunded_at": iso_time(q.refunded_at),
        "refund_amount": q.refund_amount,
        "created_at": iso_time(q.created_at),
    }


class IssueSerializer(serializers.Serializer):
    """One coupon handed out. `status`: `issued` (waiting for the car), `used` (applied to
    `payment`), `expired` (its quota's period ended). A claim link has `claim_url` until claimed."""

    id = serializers.IntegerField()
    quota = serializers.IntegerField()
    plate = serializers.CharField(allow_blank=True, help_text="Empty for a claim link not yet claimed.")
    claim_url = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=MerchantIssue.Status.values)
    payment = serializers.IntegerField(allow_null=True)
    lot = LotRefSerializer(allow_null=True, help_text="Where it was redeemed.")
    discount = serializers.IntegerField(allow_null=True, help_text="Fen it took off the fee.")
    created_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)


def issue_body(i: MerchantIssue, request=None) -> dict:
    claim_url = None
    if i.claim_token and not i.plate:
        claim_url = reverse("parking-claim", args=[i.claim_token])
        if request is not None:
            claim_url = request.build_absolute_uri(claim_url)
    payment = i.payment
    return {
        "id": i.pk,
        "quota": i.quota_id,
        "plate": i.plate,
        "claim_url": claim_url,
        "status": i.status,
        "payment": i.payment_id,
        "lot": {"id": payment.session.lot_id, "name": payment.session.lot.name} if payment else None,
        "discount": payment.discount if payment else None,
        "created_at": iso_time(i.created_at),
        "used_at": iso_time(i.used_at),
    }


class MerchantMeSerializer(MerchantSerializer):
    balance = serializers.IntegerField(help_text="The merchant's wallet, in fen (top it up as any wallet).")


# --- input ----------------------------------------------------------------------------------------


class MerchantCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    lots = serializers.ListField(child=StrictIntegerField(min_value=1), min_length=1, max_length=500)
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True)
    benefit = MerchantBenefitSerializer()
    unit_price = StrictMoneyField(min_value=0)

    def validate_lots(self, value):
        lots = list(selectors.lots_for_operator(self.context["user"]).filter(pk__in=value))
        missing = sorted(set(value) - {lot.pk for lot in lots})
        if missing:
            raise serializers.ValidationError(f"No such lots in your organization: {', '.join(map(str, missing))}.")
        return lots

    def validate_password(self, value):
        try:
            validate_password(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value

    def validate_benefit(self, value):
        if value["type"] == "percent" and not 1 <= value["value"] <= 100:
            raise serializers.ValidationError("A percent benefit is between 1 and 100.")
        if value["type"] in ("amount", "minutes") and value["value"] < 1:
            raise serializers.ValidationError("The benefit value must be at least 1.")
        return value


class QuotaBuySerializer(serializers.Serializer):
    quantity = StrictIntegerField(min_value=1, max_value=100_000)
    valid_from = AwareDateTimeField(required=False, help_text="Default: now.")
    valid_until = AwareDateTimeField()


class IssueCreateSerializer(serializers.Serializer):
    """Either `plate` (the coupon applies itself at that car's next exit from one of your lots)
    or `claim_link: true` (answers a `claim_url` to hand to the driver)."""

    quota = StrictIntegerField(min_value=1)
    plate = VehiclePlateField(required=False)
    claim_link = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        if bool(attrs.get("plate")) == bool(attrs.get("claim_link")):
            raise serializers.ValidationError({"plate": ["Give a plate, or claim_link: true (not both)."]})
        return attrs


class ClaimSerializer(serializers.Serializer):
    plate = VehiclePlateField()


# --- operator views -------------------------------------------------------------------------------


def _writer(request):
    op = operator_required(request.user)
    if not op.can_write:
        raise DomainError("permission_denied", "Your role can read but not change merchants.", status=403)
    return op


class OperatorMerchantsView(APIView):
    @extend_schema(
        operation_id="operator_merchants_list",
        summary="Your organization's merchants",
        responses={200: MerchantSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        operator_required(request.user)
        return Response([merchant_body(m) for m in selectors.merchants_for_operator(request.user)])

    @extend_schema(
        operation_id="operator_merchants_create",
        summary="Register a merchant at some of your lots, with the user it logs in with",
        request=MerchantCreateSerializer,
        responses={201: MerchantSerializer, **errors(400, 401, 403)},
    )
    def post(self, request):
        op = _writer(request)
        ser = MerchantCreateSerializer(data=request.data, context={"user": request.user})
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        merchant = services.merchant_register(
            organization=op.organization,
            name=data["name"],
            lots=data["lots"],
            username=data["username"],
            password=data["password"],
            benefit_type=data["benefit"]["type"],
            benefit_value=data["benefit"]["value"],
            unit_price=data["unit_price"],
        )
        return Response(merchant_body(selectors.merchant_for_operator(request.user, merchant.pk)), status=201)


class OperatorMerchantQuotasView(APIView):
    @extend_schema(
        operation_id="operator_merchant_quotas",
        summary="A merchant's quotas, newest first",
        responses={200: QuotaSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request, merchant_id):
        merchant = selectors.merchant_for_operator(request.user, merchant_id)
        return Response([quota_body(q) for q in selectors.quotas_of(merchant)[:500]])


class OperatorMerchantIssuesView(APIView):
    @extend_schema(
        operation_id="operator_merchant_issues",
        summary="A merchant's issued coupons and their redemptions, newest first (500 at most)",
        responses={200: IssueSerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request, merchant_id):
        merchant = selectors.merchant_for_operator(request.user, merchant_id)
        return Response([issue_body(i) for i in selectors.issues_of(merchant)[:500]])


# --- merchant views -------------------------------------------------------------------------------


class MerchantMeView(APIView):
    @extend_schema(
        operation_id="merchant_me",
        summary="The merchant you log in for, with its wallet balance",
        responses={200: MerchantMeSerializer, **errors(401, 403)},
    )
    def get(self, request):
        from wallet.services import wallet_get_or_create

        merchant = selectors.merchant_required(request.user)
        return Response({**merchant_body(merchant), "balance": wallet_get_or_create(user=merchant.account).balance})


class MerchantQuotasView(APIView):
    throttle_classes = [MoneyThrottle]

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        operation_id="merchant_quotas_list",
        summary="Your quotas, newest first",
        responses={200: QuotaSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        merchant = selectors.merchant_required(request.user)
        return Response([quota_body(q) for q in selectors.quotas_of(merchant)[:500]])

    @extend_schema(
        operation_id="merchant_quotas_buy",
        summary="Buy a quota of coupons, paid now from your wallet",
        description="Accepts an `Idempotency-Key` header.",
        request=QuotaBuySerializer,
        responses={
            201: QuotaSerializer,
            **errors(
                400,
                401,
                403,
                conflict="`insufficient_funds`: top up the wallet; `invalid_state`: suspended; "
                "`idempotency_conflict`: the Idempotency-Key was used for another request.",
            ),
        },
    )
    @idempotent
    def post(self, request):
        from django.utils import timezone

        merchant = selectors.merchant_required(request.user, may_buy=True)
        ser = QuotaBuySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        quota = services.quota_buy(
            merchant=merchant,
            quantity=data["quantity"],
            valid_from=data.get("valid_from") or timezone.now(),
            valid_until=data["valid_until"],
        )
        return Response(quota_body(quota), status=status.HTTP_201_CREATED)


class MerchantIssuesView(APIView):
    @extend_schema(
        operation_id="merchant_issues_list",
        summary="Coupons you issued and their redemptions, newest first (500 at most)",
        responses={200: IssueSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        merchant = selectors.merchant_required(request.user)
        return Response([issue_body(i, request) for i in selectors.issues_of(merchant)[:500]])

    @extend_schema(
        operation_id="merchant_issues_create",
        summary="Give a driver a coupon, by plate or as a claim link",
        description="Accepts an `Idempotency-Key` header.",
        request=IssueCreateSerializer,
        responses={
            201: IssueSerializer,
            **errors(
                400,
                401,
                403,
                404,
                conflict="`sold_out` (`details.quota = used_up`): the quota is used up; `invalid_state` "
                "(`details.quota = expired`): outside its validity period; `idempotency_conflict`: the "
                "Idempotency-Key was used for another request.",
            ),
        },
    )
    @idempotent
    def post(self, request):
        merchant = selectors.merchant_required(request.user)
        ser = IssueCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        if data.get("plate"):
            issue = services.issue_to_plate(
                merchant=merchant, quota_id=data["quota"], plate=data["plate"], user=request.user
            )
        else:
            issue = services.issue_claim_link(merchant=merchant, quota_id=data["quota"], user=request.user)
        return Response(issue_body(issue, request), status=status.HTTP_201_CREATED)


class StaffCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, write_only=True)
    role = serializers.ChoiceField(choices=MerchantMember.Role.choices, default=MerchantMember.Role.CLERK)

    def validate_password(self, value):
        try:
            validate_password(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value


class StaffSerializer(serializers.Serializer):
    """A merchant's staff user: `manager` buys quotas and issues coupons, `clerk` only issues."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=MerchantMember.Role.choices)
    created_at = serializers.DateTimeField()


def staff_body(m: MerchantMember) -> dict:
    return {"id": m.pk, "username": m.user.get_username(), "role": m.role, "created_at": iso_time(m.created_at)}


def _owner(request):
    """The merchant whose own account (the owner) is calling, or 403: only the owner manages staff."""
    access = selectors.merchant_access(request.user)
    if access is None or access[1] != "owner":
        raise DomainError("permission_denied", "Only the merchant's own account manages its staff.", status=403)
    return access[0]


class MerchantStaffView(APIView):
    @extend_schema(
        operation_id="merchant_staff_list",
        summary="Your staff users (the merchant's own account only)",
        responses={200: StaffSerializer(many=True), **errors(401, 403)},
    )
    def get(self, request):
        merchant = _owner(request)
        return Response([staff_body(m) for m in merchant.members.select_related("user")])

    @extend_schema(
        operation_id="merchant_staff_add",
        summary="Add a staff user who logs in for your merchant",
        request=StaffCreateSerializer,
        responses={201: StaffSerializer, **errors(400, 401, 403)},
    )
    def post(self, request):
        merchant = _owner(request)
        ser = StaffCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        member = services.merchant_member_add(merchant=merchant, **ser.validated_data)
        return Response(staff_body(member), status=status.HTTP_201_CREATED)


class MerchantStaffMemberView(APIView):
    @extend_schema(
        operation_id="merchant_staff_remove",
        summary="Remove a staff user (the merchant's own account only); the user stays a customer",
        responses={204: None, **errors(401, 403, 404)},
    )
    def delete(self, request, member_id):
        merchant = _owner(request)
        services.merchant_member_remove(merchant=merchant, member_id=member_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- driver ---------------------------------------------------------------------------------------


class ClaimView(APIView):
    @extend_schema(
        operation_id="merchant_coupon_claim",
        summary="Claim a merchant's coupon link for one of your cars",
        request=ClaimSerializer,
        responses={
            200: IssueSerializer,
            **errors(400, 401, 404, conflict="`invalid_state`: the coupon expired."),
        },
    )
    def post(self, request, token):
        ser = ClaimSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        issue = services.issue_claim(token=token, user=request.user, plate=ser.validated_data["plate"])
        return Response(issue_body(issue))


urlpatterns = [
    path("operator/merchants", OperatorMerchantsView.as_view(), name="api-operator-merchants"),
    path(
        "operator/merchants/<int:merchant_id>/quotas",
        OperatorMerchantQuotasView.as_view(),
        name="api-operator-merchant-quotas",
    ),
    path(
        "operator/merchants/<int:merchant_id>/issues",
        OperatorMerchantIssuesView.as_view(),
        name="api-operator-merchant-issues",
    ),
    path("merchant", MerchantMeView.as_view(), name="api-merchant"),
    path("merchant/quotas", MerchantQuotasView.as_view(), name="api-merchant-quotas"),
    path("merchant/issues", MerchantIssuesView.as_view(), name="api-merchant-issues"),
    path("merchant/staff", MerchantStaffView.as_view(), name="api-merchant-staff"),
    path("merchant/staff/<int:member_id>", MerchantStaffMemberView.as_view(), name="api-merchant-staff-member"),
    path("claims/<str:token>", ClaimView.as_view(), name="api-merchant-claim"),
]
