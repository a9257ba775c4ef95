from rest_framework import serializers

from .models import Order


class OrderSerializer(serializers.ModelSerializer):
    voucher = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Order
        fields = ["id", "voucher", "status", "amount", "created_at", "expires_at", "paid_at", "failure_code"]
        read_only_fields = fields
