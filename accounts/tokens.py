"""API tokens: revocation every process sees at once.

A user's tokens are deleted when their password changes or they are deactivated (accounts/apps.py
connects the receivers). Every deleted token key is also written to the shared cache (Redis in real
mode, the file cache in the embedded default) as revoked, so a process that keeps tokens in memory
(the purchase endpoint, seckill/auth.py) learns of it on its next use with one cache read and no
database query. The mark outlives any such memory by far (REVOKED_TTL)."""

import threading

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

REVOKED_TTL = 7 * 24 * 3600
_PREFIX = "accounts:token-revoked:"
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _key(token_key: str) -> str:
    return _PREFIX + token_key


def _redis():
    """A plain Redis client on REDIS_URL (a GET through it costs a quarter of Django's cache
    layer on the purchase path), or None in the embedded default (the file cache is used)."""
    url = settings.REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        import redis

        with _clients_lock:
            client = _clients.setdefault(url, redis.Redis.from_url(url))
    return client


def token_is_revoked(token_key: str) -> bool:
    client = _redis()
    if client is None:
        return cache.get(_key(token_key)) is not None
    return client.get(_key(token_key)) is not None


def _mark(token_keys: list[str]) -> None:
    client = _redis()
    if client is None:
        cache.set_many({_key(k): 1 for k in token_keys}, timeout=REVOKED_TTL)
        return
    pipe = client.pipeline(transaction=False)
    for k in token_keys:
        pipe.set(_key(k), 1, ex=REVOKED_TTL)
    pipe.execute()


def tokens_mark_revoked(token_keys: list[str]) -> None:
    """Mark keys revoked for every process once the deletion is committed (before, another process
    could still read the row and remember it after the mark)."""
    if token_keys:
        keys = list(token_keys)
        transaction.on_commit(lambda: _mark(keys))


def _token_deleted(sender, instance, **kwargs) -> None:
    tokens_mark_revoked([instance.key])


def _user_saved(sender, instance, created: bool, update_fields=None, **kwargs) -> None:
    """A changed password (set_password leaves `_password` until the save is done) or a deactivated
    account: the user's API tokens stop working everywhere."""
    if created:
        return
    if getattr(instance, "_password", None) is not None or not instance.is_active:
        from .services import user_tokens_revoke

        user_tokens_revoke(user_id=instance.pk)


def connect_signals() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save
    from rest_framework.authtoken.models import Token

    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="accounts.tokens.token_deleted")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="accounts.tokens.user_saved")
