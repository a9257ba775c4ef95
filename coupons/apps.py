from django.apps import AppConfig


class CouponsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "coupons"

    def ready(self) -> None:
        from accounts.scoping import register_scope

        register_scope("coupons.voucher", "organization")
