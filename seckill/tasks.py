"""Seckill tasks: the intake of orders the Redis gate accepted, and the reconciliation.

Intake is a Celery task rather than a Redis Stream consumer group: the project already runs Celery
workers on the same Redis, acks_late + reject_on_worker_lost give at-least-once delivery, retries
with backoff come for free, and the gate's own pending hash (per voucher) is the durable record a
lost message is rebuilt from, so a stream would add a second queue without adding safety."""

import logging

from celery import shared_task

from . import conf, intake

log = logging.getLogger("parkmarket.seckill")


@shared_task(bind=True, name="seckill.tasks.intake_order", acks_late=True, max_retries=None, ignore_result=True)
def intake_order(self, *, order_id: str, voucher_id: int, user_id: int, accepted_ms: int) -> str:
    """Write one accepted order through the database gate. Idempotent by order id."""
    try:
        return intake.intake_write(
            order_id=order_id, voucher_id=voucher_id, user_id=user_id, accepted_ms=accepted_ms
        ).status
    except Exception as exc:  # every failure is retried, then compensated: an accepted order is never dropped
        attempt = self.request.retries
        if attempt >= conf.intake_max_retries():
            return intake.intake_give_up(
                order_id=order_id,
                voucher_id=voucher_id,
                user_id=user_id,
                accepted_ms=accepted_ms,
                reason=f"{exc.__class__.__name__}: {exc}",
            ).status
        countdown = min(2**attempt, conf.intake_backoff_max())
        log.warning("seckill intake retry order=%s attempt=%s in %ss: %r", order_id, attempt + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown)


@shared_task(bind=True, name="seckill.tasks.intake_orders", acks_late=True, ignore_result=True)
def intake_orders(self, *, orders: list[dict]) -> int:
    """A batch of accepted orders (from the dispatcher). If the batch path fails for a reason
    other than a refusal (the database is down, ...), every order becomes its own `intake_order`
    task, with its own retries and its own give-up."""
    try:
        return intake.intake_write_batch(orders)
    except Exception as exc:  # nothing is dropped: each order gets retried on its own
        log.warning("seckill intake batch of %s failed (%r): one task per order", len(orders), exc)
        for order in orders:
            intake_order.apply_async(kwargs=order, task_id=f"intake-{order['order_id']}")
        return 0


@shared_task(name="seckill.tasks.reconcile_all", acks_late=True)
def reconcile_all(repair_now: bool = False) -> list[dict]:
    from .reconcile import reconcile_all as run

    return run(repair_now=repair_now)
