from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParkingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "parking"
    verbose_name = _("Parking")

    def ready(self) -> None:
        from wallet.signals import wallet_credited

        from . import reconciliation, tasks

        wallet_credited.connect(tasks.on_wallet_credited, dispatch_uid="parking-settle-debts-on-credit")
        reconciliation.connect()
        from accounts.scoping import register_scope

        register_scope("parking.lot", "organization")
        register_scope("parking.tariff", "lot__organization")
        register_scope("parking.parkingsession", "lot__organization")
        register_scope("parking.parkingpayment", "session__lot__organization")
        register_scope("parking.merchant", "organization")
        register_scope("parking.merchantquota", "merchant__organization")
