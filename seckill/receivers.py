"""The gate follows the database: listeners of coupons' signals (sent after each commit). The
change is already committed whatever Redis answers, so a failure here is logged (by the sender),
never raised into the request; the purchase path loads a missing gate and the reconciliation
repairs a stale one."""

from django.conf import settings

from coupons.models import Voucher

from . import gate
from .soldout import flag_clear


def _flash_sale(voucher_id: int) -> Voucher | None:
    if not gate.enabled():
        return None
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    return voucher if voucher is not None and voucher.kind == Voucher.Kind.SECKILL else None


def on_voucher_published(sender, *, voucher_id: int, **kwargs) -> None:
    """Publishing: the gate gets the sale's rules, and its stock when not loaded yet."""
    voucher = _flash_sale(voucher_id)
    if voucher is not None:
        gate.gate_load(voucher)
        gate.gate_sync_meta(voucher)


def on_voucher_changed(sender, *, voucher_id: int, **kwargs) -> None:
    """Changed rules (window, limit, price, a delist) reach the gate."""
    voucher = _flash_sale(voucher_id)
    if voucher is not None:
        gate.gate_sync_meta(voucher)


def on_units_added(sender, *, voucher_id: int, quantity: int, **kwargs) -> None:
    """A restock: the units reach a loaded gate, and the database gate's sold-out flag goes."""
    flag_clear(voucher_id)
    if _flash_sale(voucher_id) is not None:
        gate.gate_add_stock(voucher_id=voucher_id, quantity=quantity)


def on_unit_returned(sender, *, voucher_id: int, user_id: int, order_id, **kwargs) -> None:
    """A cancel, expiry or refund: the unit and the buyer's slot come back to a loaded gate, and the
    database gate's sold-out flag goes."""
    if settings.REDIS_URL:
        flag_clear(voucher_id)
        gate.gate_release(voucher_id=voucher_id, user_id=user_id, order_id=order_id)
