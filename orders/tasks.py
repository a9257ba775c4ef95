"""Periodic and on-demand order tasks (the schedule is in config/celery.py)."""

import logging

from celery import shared_task

from .services import orders_expire_due

log = logging.getLogger("parkmarket.orders")


@shared_task(name="orders.tasks.expire_due_orders", acks_late=True)
def expire_due_orders(user_id: int | None = None) -> int:
    """Expire unpaid orders whose payment window closed (of one customer, or everyone's); their
    stock comes back. Safe to run twice and in parallel (rows are taken with SKIP LOCKED and
    re-checked under the lock)."""
    return orders_expire_due(user_id=user_id)


def expire_soon(*, user_id: int) -> None:
    """A read saw this customer's overdue order (it already reads `expired`): ask a worker to expire
    it now rather than at the next periodic run, so its unit is back on sale within moments. The
    read itself writes nothing; a broker that cannot be reached leaves it to the periodic run."""
    try:
        expire_due_orders.delay(user_id=user_id)
    except Exception:
        log.warning("could not request the expiry of customer %s's overdue orders", user_id, exc_info=True)
