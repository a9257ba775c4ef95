"""wallet's periodic task: the daily money reconciliation (scheduled in config/celery.py)."""

from celery import shared_task

from .reconciliation import money_reconcile


@shared_task(name="wallet.tasks.reconcile_money")
def reconcile_money() -> dict:
    """Read-only apart from its report, so a second run only writes a second report."""
    report = money_reconcile()
    return {"report_id": report.pk, "findings": report.findings_count}
