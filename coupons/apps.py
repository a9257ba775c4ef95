from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "coupons"
    verbose_name = _("Coupons")

    def ready(self) -> None:
        from accounts.scoping import register_scope
        from wallet.signals import money_mismatch_found

        from .services import on_money_mismatch

        money_mismatch_found.connect(on_money_mismatch, dispatch_uid="coupons-alert-on-money-mismatch")

        register_scope("coupons.voucher", "organization")
