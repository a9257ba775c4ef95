"""Vouchers: stock returns (publishing, operator writes and low-stock alerts follow here)."""

import uuid

from django.db import transaction
from django.db.models import F

from .models import Voucher


def voucher_stock_return(*, voucher_id: int, user_id: int, order_id: uuid.UUID) -> None:
    """Give one unit of an order back (cancel, expiry, refund). Must run inside the caller's
    transaction, which has already marked the order as released (Order.stock_released) under a row
    lock, so it runs once per order. The Redis gate gets its unit and the buyer's slot back after
    the commit."""
    Voucher.objects.filter(pk=voucher_id, stock__isnull=False).update(
        stock=F("stock") + 1, sold_count=F("sold_count") - 1
    )
    Voucher.objects.filter(pk=voucher_id, stock__isnull=True).update(sold_count=F("sold_count") - 1)
    from seckill.gate import gate_release

    transaction.on_commit(lambda: gate_release(voucher_id=voucher_id, user_id=user_id, order_id=order_id))
