"""Parking tasks: thin, idempotent wrappers around services (acks_late is the project default)."""

import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from .selectors import open_debts
from .services.payments import debts_settle, payment_autodebit

log = logging.getLogger("parkmarket.parking")

SWEEP_BATCH = 500


@shared_task(name="parking.tasks.settle_user_debts")
def settle_user_debts(user_id: int) -> int:
    """Settle one customer's open parking debts, oldest first (after a top-up, refund, ...)."""
    return debts_settle(user_id=user_id)


@shared_task(name="parking.tasks.autodebit_payment")
def autodebit_payment(payment_id: int) -> str:
    return payment_autodebit(payment_id=payment_id).value


@shared_task(name="parking.tasks.sweep_open_debts")
def sweep_open_debts() -> int:
    """Periodic: every customer with an open auto-pay debt gets a settling attempt (a top-up whose
    task was lost, a crash between an exit and its debit)."""
    user_ids = list(open_debts().order_by().values_list("session__user_id", flat=True).distinct()[:SWEEP_BATCH])
    return sum(debts_settle(user_id=uid) for uid in user_ids)


def enqueue_settle(user_id: int) -> None:
    """Queue a settling run for a customer. A broker outage is logged; the sweep catches up."""
    try:
        settle_user_debts.delay(user_id)
    except OperationalError:
        log.exception("could not queue parking debt settlement for user %s; the sweep will retry", user_id)


def on_wallet_credited(sender, *, user_id: int, amount: int, kind: str, entry_id: int, **kwargs) -> None:
    """Receiver of wallet.signals.wallet_credited (after commit): money arrived, settle debts."""
    enqueue_settle(user_id)


@shared_task(name="parking.tasks.refund_merchant_quotas")
def refund_merchant_quotas() -> int:
    """Periodic: refund the unredeemed coupons of merchant quotas whose period ended (once each)."""
    from .services.merchants import quotas_refund_due

    return quotas_refund_due()
