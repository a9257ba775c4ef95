from django.apps import AppConfig


class WalletConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "wallet"

    def ready(self) -> None:
        from accounts.signals import customer_registered

        from . import reconciliation
        from .services import on_customer_registered

        customer_registered.connect(on_customer_registered, dispatch_uid="wallet-open-on-register")
        reconciliation.connect()
