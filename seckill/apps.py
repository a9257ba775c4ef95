from django.apps import AppConfig


class SeckillConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "seckill"

    def ready(self) -> None:
        from .auth import connect_signals

        connect_signals()
