from rest_framework import serializers

from .models import Order
from .selectors import effective_status


class OrderSerializer(serializers.ModelSerializer):
    """The contract's order: id, voucher, status, amount, created_at, expires_at (plus extras)."""

    voucher = serializers.PrimaryKeyRelatedField(read_only=True)
    voucher_title = serializers.CharField(source="voucher.title", read_only=True)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = [
            "id",
            "voucher",
            "voucher_title",
            "status",
            "amount",
            "created_at",
            "expires_at",
            "paid_at",
            "used_at",
            "failure_code",
        ]
        read_only_fields = fields

    def get_status(self, obj: Order) -> str:
        return effective_status(obj)


class PaySerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=["wallet"], default="wallet")


class EmptySerializer(serializers.Serializer):
    """Cancel and refund take no fields; anything that is not a JSON object is refused."""
