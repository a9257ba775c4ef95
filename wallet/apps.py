from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WalletConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wallet"
    verbose_name = _("Wallet")

    def ready(self) -> None:
        from accounts.signals import customer_registered

        from . import reconciliation
        from .services import on_customer_registered

        customer_registered.connect(on_customer_registered, dispatch_uid="wallet-open-on-register")
        reconciliation.connect()
