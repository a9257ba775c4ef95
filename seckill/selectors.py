"""Reads of the purchase gate."""

import uuid
from datetime import UTC, datetime

from . import gate


def pending_order(*, user_id: int, order_id: uuid.UUID) -> dict | None:
    """An order the Redis gate accepted that the intake has not written yet, as the API shows it
    (status `processing`), or None. Another customer's order is None (a 404 for the caller)."""
    if not gate.enabled() and not _redis_configured():
        return None
    try:
        found = gate.order_index(order_id)
    except Exception:
        return None
    if found is None:
        return None
    voucher_id, owner_id, accepted_ms = found
    if owner_id != user_id:
        return None
    try:
        meta = gate.client().hgetall(gate.keys(voucher_id).meta)
    except Exception:
        meta = {}
    from rest_framework.fields import DateTimeField

    amount = int(meta["price"]) if meta.get("price") else None
    if amount is None:
        from coupons.models import Voucher

        amount = Voucher.objects.filter(pk=voucher_id).values_list("price", flat=True).first()

    created = datetime.fromtimestamp(accepted_ms / 1000, tz=UTC)
    return {
        "id": str(order_id),
        "voucher": voucher_id,
        "status": "processing",
        "amount": amount,
        "created_at": DateTimeField().to_representation(created),
        "expires_at": None,
        "paid_at": None,
        "failure_code": "",
    }


def _redis_configured() -> bool:
    from django.conf import settings

    return bool(settings.REDIS_URL)
