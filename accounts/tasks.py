"""Accounts housekeeping (declared periodic in config/celery.py)."""

from datetime import timedelta

import redis
from celery import shared_task
from django.utils import timezone

from .services import idempotency_records_purge


@shared_task(name="accounts.tasks.purge_idempotency_records")
def purge_idempotency_records(days: int = 7) -> int:
    """Forget Idempotency-Key answers older than `days` (clients retry within minutes, not weeks)."""
    return idempotency_records_purge(before=timezone.now() - timedelta(days=days))


@shared_task(
    name="accounts.tasks.tokens_revoke",
    acks_late=True,
    autoretry_for=(redis.RedisError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=30,  # ~25 minutes of retries: longer than an entry of the token lookup lives
)
def tokens_revoke(*, token_keys: list[str]) -> int:
    """Write the revocation of tokens whose deletion committed while Redis failed (accounts/tokens.py)."""
    from .tokens import tokens_revoke_now

    tokens_revoke_now(token_keys)
    return len(token_keys)
