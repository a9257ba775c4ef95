from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeckillConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "seckill"
    verbose_name = _("Flash sales")

    def ready(self) -> None:
        from coupons import signals
        from coupons.selectors import register_live_stock_source
        from orders.selectors import register_pending_source

        from . import receivers, selectors

        signals.voucher_published.connect(receivers.on_voucher_published, dispatch_uid="seckill-published")
        signals.voucher_changed.connect(receivers.on_voucher_changed, dispatch_uid="seckill-changed")
        signals.units_added.connect(receivers.on_units_added, dispatch_uid="seckill-units-added")
        signals.unit_returned.connect(receivers.on_unit_returned, dispatch_uid="seckill-unit-returned")
        register_live_stock_source(selectors.live_stock)
        register_pending_source(selectors.pending_order)
