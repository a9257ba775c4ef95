"""Voucher tasks: low-stock notification and the periodic sweep that catches missed ones."""

from celery import shared_task

from . import services


@shared_task(name="coupons.tasks.notify_low_stock", acks_late=True)
def notify_low_stock(voucher_id: int) -> int | None:
    alert = services.low_stock_notify(voucher_id=voucher_id)
    return alert.pk if alert else None


@shared_task(name="coupons.tasks.scan_low_stock", acks_late=True)
def scan_low_stock() -> int:
    return services.low_stock_scan()
