"""Token authentication for the purchase endpoint, with a short per-process memory.

DRF's TokenAuthentication reads the token and its user from the database on every request. In a
flash sale most answers are refusals (sold out, not started) that the Redis gate gives without the
database; this keeps the token read out of them too. A remembered token is trusted for at most
SECKILL_AUTH_CACHE_SECONDS (default 30) after it was last read, and on every use it is checked
against the shared cache's revocation marks (accounts/tokens.py: one cache read, no database): a
token deleted, a password changed or a user deactivated through the application stops buying at
once in every process. 0 turns the memory off."""

import threading
import time

from rest_framework.authentication import TokenAuthentication

from accounts.tokens import token_is_revoked

from . import conf

_cache: dict[str, tuple[float, object, object]] = {}
_lock = threading.Lock()
MAX_ENTRIES = 100_000


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        ttl = conf.auth_cache_seconds()
        if ttl <= 0:
            return super().authenticate_credentials(key)
        now = time.monotonic()
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            if not token_is_revoked(key):
                return hit[1], hit[2]
            forget_token(key)  # revoked elsewhere: the database read below refuses it
        user, token = super().authenticate_credentials(key)
        with _lock:
            if len(_cache) >= MAX_ENTRIES:
                _cache.clear()
            _cache[key] = (now + ttl, user, token)
        return user, token


def forget_all() -> None:
    with _lock:
        _cache.clear()


def forget_token(key: str) -> None:
    with _lock:
        _cache.pop(key, None)


def forget_user(user_id) -> None:
    with _lock:
        for key in [k for k, (_exp, user, _tok) in _cache.items() if user.pk == user_id]:
            del _cache[key]


def _token_deleted(sender, instance, **kwargs) -> None:
    forget_token(instance.key)


def _user_saved(sender, instance, **kwargs) -> None:
    if not instance.is_active:
        forget_user(instance.pk)


def _user_deleted(sender, instance, **kwargs) -> None:
    forget_user(instance.pk)


def connect_signals() -> None:
    """A token deleted or a user deactivated through the ORM in this process is forgotten here at
    once; other processes see the revocation mark (accounts/tokens.py) on the token's next use.
    Only a change that bypasses the ORM's signals (a bulk UPDATE) waits for the memory's time."""
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save
    from rest_framework.authtoken.models import Token

    user_model = get_user_model()
    post_delete.connect(_token_deleted, sender=Token, dispatch_uid="seckill.auth.token_deleted")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="seckill.auth.user_saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="seckill.auth.user_deleted")


try:  # the OpenAPI schema describes it as the same "Token <key>" header, under its own name
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class CachedTokenScheme(OpenApiAuthenticationExtension):
        target_class = "seckill.auth.CachedTokenAuthentication"
        name = "purchaseTokenAuth"

        def get_security_definition(self, auto_schema):
            return {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": 'Token authentication, prefix "Token" (the same tokens as tokenAuth)',
            }

except ImportError:  # pragma: no cover - drf-spectacular is a runtime dependency
    pass
