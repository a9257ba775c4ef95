"""Wallet API: balance, ledger entries, top-ups and the payment provider's webhook."""

import json

from django.urls import path
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from config.api import MoneyThrottle, QueryIdField, QueryIntegerField, StrictCharField, StrictMoneyField
from config.errors import DomainError

from .models import LedgerEntry, TopUp, Wallet
from .payments import PROVIDERS, SIGNATURE_HEADER, enabled_providers, signature_valid
from .selectors import ledger_entries_of, wallet_balance, wallet_of
from .services import topup_confirm, topup_fail, topup_start

# --- Wallet -------------------------------------------------------------------------------------


class WalletSerializer(serializers.ModelSerializer):
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null before the first movement.")

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
    amount = StrictMoneyField()
    provider = serializers.ChoiceField(choices=sorted(PROVIDERS), default="sandbox")

    def validate_provider(self, value: str) -> str:
        if value not in enabled_providers():
            raise serializers.ValidationError("This payment provider is not enabled here.")
        return value


class EntriesQuerySerializer(serializers.Serializer):
    limit = QueryIntegerField(min_value=1, max_value=200, default=50)
    before = QueryIdField(required=False, help_text="Entries older than this id.")


class WebhookSerializer(serializers.Serializer):
    txn_id = StrictCharField(max_length=128)
    status = serializers.ChoiceField(choices=["succeeded", "failed"])
    amount = StrictMoneyField(required=False)
    reason = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class WalletView(APIView):
    @extend_schema(responses={200: WalletSerializer})
    def get(self, request):
        return Response(WalletSerializer(wallet_of(user=request.user)).data)


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
        balance = wallet_balance(user_id=request.user.pk)
        return Response({"balance": balance, "topup": TopUpSerializer(topup).data}, status=status.HTTP_201_CREATED)


class LedgerEntriesView(APIView):
    @extend_schema(parameters=[EntriesQuerySerializer], responses={200: LedgerEntrySerializer(many=True)})
    def get(self, request):
        q = EntriesQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        entries = ledger_entries_of(user=request.user, before_id=q.validated_data.get("before"))
        return Response(LedgerEntrySerializer(entries[: q.validated_data["limit"]], many=True).data)


class PaymentWebhookView(APIView):
    """Called by a payment provider: the raw body is signed (HMAC-SHA256, hex, `X-Signature`).
    Idempotent by the provider's transaction id: a repeated notification credits once."""

    permission_classes = [AllowAny]
    authentication_classes = []
    schema_errors = ("403",)  # the signature does not match

    @extend_schema(request=WebhookSerializer, responses={200: TopUpSerializer})
    def post(self, request, provider: str):
        if provider not in enabled_providers():
            raise DomainError("not_found", status=404)
        raw = request.body
        if not signature_valid(raw, request.headers.get(SIGNATURE_HEADER)):
            raise DomainError("permission_denied", gettext_noop("The signature does not match."), status=403)
        try:
            payload = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise DomainError(
                "validation_error", gettext_noop("The request body is not valid JSON."), status=400
            ) from None
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
]
