"""Periodic and on-demand order tasks (the schedule is in config/celery.py)."""

from celery import shared_task

from .services import orders_expire_due


@shared_task(name="orders.tasks.expire_due_orders", acks_late=True)
def expire_due_orders() -> int:
    """Expire unpaid orders whose payment window closed; their stock comes back. Safe to run twice
    and in parallel (rows are taken with SKIP LOCKED and re-checked under the lock)."""
    return orders_expire_due()
