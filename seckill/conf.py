"""Knobs of the purchase path, read from settings with defaults (environment names in brackets)."""

import os

from django.conf import settings


def _int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return int(value)


def intake_max_retries() -> int:
    """[SECKILL_INTAKE_MAX_RETRIES] database failures an accepted order survives before it is
    given up (written as failed, unit back to the gate)."""
    return _int("SECKILL_INTAKE_MAX_RETRIES", 5)


def intake_backoff_max() -> int:
    """[SECKILL_INTAKE_BACKOFF_MAX] longest wait between two intake attempts, seconds."""
    return _int("SECKILL_INTAKE_BACKOFF_MAX", 60)


def pending_stale_seconds() -> int:
    """[SECKILL_PENDING_STALE_SECONDS] a pending entry older than this is re-enqueued by the
    reconciliation (its task was lost: worker killed, broker flushed)."""
    return _int("SECKILL_PENDING_STALE_SECONDS", 120)
