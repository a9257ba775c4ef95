"""Accounts housekeeping (declared periodic in config/celery.py)."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from .services import idempotency_records_purge


@shared_task(name="accounts.tasks.purge_idempotency_records")
def purge_idempotency_records(days: int = 7) -> int:
    """Forget Idempotency-Key answers older than `days` (clients retry within minutes, not weeks)."""
    return idempotency_records_purge(before=timezone.now() - timedelta(days=days))
