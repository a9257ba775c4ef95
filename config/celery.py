"""The Celery app. Every periodic task of the product is declared here, in one place."""

import os

from celery import Celery
from celery.schedules import crontab

from config import metrics, tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("parkmarket")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every task's runs, failures and durations; the request id of the request that started it.
metrics.connect_celery_signals()
tracing.connect_celery_signals()


@app.on_after_configure.connect
def _beat_scheduler(sender, **kwargs) -> None:
    """celery-redbeat reads its options by their own names (redbeat_*), not through the CELERY_
    namespace: copy them from the settings (config/settings/base.py, "Beat")."""
    from django.conf import settings

    if getattr(settings, "CELERY_BEAT_SCHEDULER", "") == "redbeat.RedBeatScheduler":
        sender.conf.update(
            redbeat_redis_url=settings.CELERY_REDBEAT_REDIS_URL,
            redbeat_redis_options=settings.CELERY_REDBEAT_REDIS_OPTIONS,
            redbeat_key_prefix=settings.CELERY_REDBEAT_KEY_PREFIX,
            redbeat_lock_timeout=settings.CELERY_REDBEAT_LOCK_TIMEOUT,
        )


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


app.conf.beat_schedule = {
    # Unpaid coupon orders whose payment window closed: expire them, stock comes back.
    "orders-expire-due": {"task": "orders.tasks.expire_due_orders", "schedule": _seconds("ORDERS_EXPIRE_SECONDS", 15)},
    # Redis gate vs database: repair drift, report any oversell.
    "seckill-reconcile": {"task": "seckill.tasks.reconcile_all", "schedule": _seconds("SECKILL_RECONCILE_SECONDS", 60)},
    # Parking debts that a top-up or an exit should have settled but did not.
    "parking-sweep-debts": {"task": "parking.tasks.sweep_open_debts", "schedule": 300.0},
    # Low-stock thresholds crossed without an alert (the purchase path also triggers it at once).
    "coupons-low-stock-scan": {"task": "coupons.tasks.scan_low_stock", "schedule": crontab(minute="*/5")},
    # Merchant quotas whose period ended: refund their unredeemed coupons to the merchant, once.
    "parking-refund-merchant-quotas": {
        "task": "parking.tasks.refund_merchant_quotas",
        "schedule": crontab(minute="*/10"),
    },
    # Stored Idempotency-Key answers older than a week.
    "accounts-purge-idempotency": {"task": "accounts.tasks.purge_idempotency_records", "schedule": crontab(minute=17)},
    # Does the money add up: balances vs ledgers, top-ups, order payments and refunds, parking payments.
    "wallet-reconcile-money": {"task": "wallet.tasks.reconcile_money", "schedule": crontab(hour=3, minute=30)},
}


@app.task(name="config.ping")
def ping() -> str:
    """Round trip through the broker; used by /healthz checks and the embedded smoke test."""
    return "pong"
