from django.apps import AppConfig
from django.utils.translation import pgettext_lazy


class CouponsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "coupons"
    # "Coupons" alone also heads the discount columns of parking pages: the app name has its own.
    verbose_name = pgettext_lazy("app name", "Coupons")

    def ready(self) -> None:
        from accounts.scoping import register_scope
        from wallet.signals import money_mismatch_found

        from .services import on_money_mismatch

        money_mismatch_found.connect(on_money_mismatch, dispatch_uid="coupons-alert-on-money-mismatch")

        register_scope("coupons.voucher", "organization")
