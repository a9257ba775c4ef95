"""Accounts API (register, token) and, below, the wallet endpoints."""

import json

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import AuthThrottle, MoneyThrottle, StrictMoneyField, idempotent
from config.errors import DomainError

from .models import LedgerEntry, TopUp, Wallet
from .payments import PROVIDERS, SIGNATURE_HEADER, enabled_providers, signature_valid
from .services import customer_register, topup_confirm, topup_fail, topup_start, wallet_get_or_create

User = get_user_model()


class CredentialsSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+$", max_length=150, min_length=3)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class RegisterSerializer(CredentialsSerializer):
    def validate(self, attrs):
        candidate = User(username=attrs["username"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        if User.objects.filter(username__iexact=attrs["username"]).exists():
            raise serializers.ValidationError({"username": ["This username is taken."]})
        return attrs


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=CredentialsSerializer,
        responses={
            201: inline_serializer(
                "Registered",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "token": serializers.CharField(),
                },
            )
        },
    )
    def post(self, request):
        ser = RegisterSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user, token = customer_register(**ser.validated_data)
        return Response({"id": user.id, "username": user.username, "token": token.key}, status=status.HTTP_201_CREATED)


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [AuthThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: inline_serializer("TokenAnswer", {"token": serializers.CharField()})},
    )
    def post(self, request):
        ser = CredentialsSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        user = authenticate(request, **ser.validated_data)
        if user is None or not user.is_active:
            raise DomainError("not_authenticated", "Wrong username or password.", status=401)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeView(APIView):
    """Who the token belongs to. Also the benchmark's ceiling: an authenticated request that does
    nothing else."""

    @extend_schema(
        responses={
            200: inline_serializer(
                "Me",
                {
                    "id": serializers.IntegerField(),
                    "username": serializers.CharField(),
                    "organization": serializers.IntegerField(allow_null=True),
                    "role": serializers.CharField(allow_null=True),
                },
            )
        }
    )
    def get(self, request):
        from parking.scoping import operator_of

        op = operator_of(request.user)
        return Response(
            {
                "id": request.user.id,
                "username": request.user.username,
                "organization": op.organization_id if op else None,
                "role": op.role if op else None,
            }
        )


# --- Wallet -------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class MoneyField(StrictMoneyField):
    """StrictMoneyField, described as an integer in the OpenAPI schema."""


class WalletSerializer(serializers.ModelSerializer):
    class Meta:
        model = Wallet
        fields = ["balance", "updated_at"]


class LedgerEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "balance_before", "balance_after", "order", "reference", "memo", "created_at"]


class TopUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = TopUp
        fields = ["id", "amount", "provider", "provider_txn_id", "status", "created_at", "completed_at"]


class TopUpRequestSerializer(serializers.Serializer):
    amount = MoneyField()
    provider = serializers.ChoiceField(choices=sorted(PROVIDERS), default="sandbox")

    def validate_provider(self, value: str) -> str:
        if value not in enabled_providers():
            raise serializers.ValidationError("This payment provider is not enabled here.")
        return value


class EntriesQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    before = serializers.IntegerField(min_value=1, required=False, help_text="Entries older than this id.")


class WebhookSerializer(serializers.Serializer):
    txn_id = serializers.CharField(max_length=128)
    status = serializers.ChoiceField(choices=["succeeded", "failed"])
    amount = MoneyField(required=False)
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class WalletView(APIView):
    @extend_schema(responses={200: WalletSerializer})
    def get(self, request):
        return Response(WalletSerializer(wallet_get_or_create(user=request.user)).data)


class TopUpView(APIView):
    throttle_classes = [MoneyThrottle]

    @extend_schema(
        request=TopUpRequestSerializer,
        responses={
            201: inline_serializer("TopUpAnswer", {"balance": serializers.IntegerField(), "topup": TopUpSerializer()})
        },
    )
    @idempotent
    def post(self, request):
        ser = TopUpRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        topup = topup_start(
            user=request.user, amount=ser.validated_data["amount"], provider_name=ser.validated_data["provider"]
        )
        balance = Wallet.objects.filter(user=request.user).values_list("balance", flat=True).first() or 0
        return Response({"balance": balance, "topup": TopUpSerializer(topup).data}, status=status.HTTP_201_CREATED)


class LedgerEntriesView(APIView):
    @extend_schema(parameters=[EntriesQuerySerializer], responses={200: LedgerEntrySerializer(many=True)})
    def get(self, request):
        q = EntriesQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        entries = LedgerEntry.objects.filter(wallet__user=request.user).order_by("-created_at", "-id")
        if "before" in q.validated_data:
            entries = entries.filter(id__lt=q.validated_data["before"])
        return Response(LedgerEntrySerializer(entries[: q.validated_data["limit"]], many=True).data)


class PaymentWebhookView(APIView):
    """Called by a payment provider: the raw body is signed (HMAC-SHA256, hex, `X-Signature`).
    Idempotent by the provider's transaction id: a repeated notification credits once."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=WebhookSerializer, responses={200: TopUpSerializer})
    def post(self, request, provider: str):
        if provider not in enabled_providers():
            raise DomainError("not_found", status=404)
        raw = request.body
        if not signature_valid(raw, request.headers.get(SIGNATURE_HEADER)):
            raise DomainError("permission_denied", "The signature does not match.", status=403)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise DomainError("validation_error", "The request body is not valid JSON.", status=400) from None
        ser = WebhookSerializer(data=payload)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        if data["status"] == "succeeded":
            topup = topup_confirm(provider_name=provider, provider_txn_id=data["txn_id"], amount=data.get("amount"))
        else:
            topup = topup_fail(provider_name=provider, provider_txn_id=data["txn_id"], reason=data["reason"])
        return Response(TopUpSerializer(topup).data)


urlpatterns = [
    path("wallet", WalletView.as_view(), name="api-wallet"),
    path("wallet/topups", TopUpView.as_view(), name="api-wallet-topups"),
    path("wallet/entries", LedgerEntriesView.as_view(), name="api-wallet-entries"),
    path("wallet/webhooks/<slug:provider>", PaymentWebhookView.as_view(), name="api-wallet-webhook"),
    path("auth/me", MeView.as_view(), name="api-me"),
    path("auth/register", RegisterView.as_view(), name="api-register"),
    path("auth/token", TokenView.as_view(), name="api-token"),
]
