from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from coupons.models import Voucher
        from coupons.selectors import register_held_count

        from . import reconciliation
        from .limits import rules_cache_clear, rules_cache_warm
        from .models import PurchaseLimitRule
        from .placing import live_orders_count

        def rule_changed(sender, instance, **kwargs):
            rules_cache_clear(organization_id=instance.organization_id)

        def voucher_saved(sender, instance, **kwargs):
            rules_cache_warm(organization_id=instance.organization_id)

        post_save.connect(rule_changed, sender=PurchaseLimitRule, weak=False, dispatch_uid="orders.rules_saved")
        post_delete.connect(rule_changed, sender=PurchaseLimitRule, weak=False, dispatch_uid="orders.rules_deleted")
        post_save.connect(voucher_saved, sender=Voucher, weak=False, dispatch_uid="orders.rules_warm_on_voucher")
        reconciliation.connect()
        register_held_count(lambda user_id, voucher_id: live_orders_count(user_id=user_id, voucher_id=voucher_id))
