"""API tokens: a token lookup every process shares, and revocation every process sees at once.

With Redis (REDIS_URL) the purchase endpoint finds a token's user in Redis, not in the database:
`token_user` reads one key, `tok:<key>` -> "user id:date joined (epoch ms):username", written when
the token is issued (registration, `POST /auth/token`, `create_customers`) and after a database
read of a token not found there; it lives SECKILL_AUTH_CACHE_SECONDS (default 900 s, 0 turns the
lookup off). Only active users are written.

Revocation is immediate: a token deleted (a password changed, a user deactivated or deleted
through the ORM: accounts/apps.py connects the receivers) has its entry removed after the commit,
and a revocation mark written (REVOKED_TTL) that the write after a database read honours
atomically (a Lua script), so a read that raced with the deletion cannot put the entry back. A user
deactivated by SQL that bypasses the ORM's signals keeps buying until the entry expires.

Without Redis (the embedded default) nothing is cached: every request reads the token."""

import logging
import os
import threading
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

REVOKED_TTL = 7 * 24 * 3600
_PREFIX = "accounts:tok:"
_REVOKED = "accounts:token-revoked:"
_clients: dict[str, object] = {}
_clients_lock = threading.Lock()
log = logging.getLogger("parkmarket.accounts")

# Write an entry unless the token was revoked meanwhile. KEYS: entry, revocation mark. ARGV: value, ttl.
_REMEMBER = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


def cache_seconds() -> int:
    """[SECKILL_AUTH_CACHE_SECONDS] how long a token's entry lives in the shared lookup."""
    value = getattr(settings, "SECKILL_AUTH_CACHE_SECONDS", None)
    if value is None:
        value = os.environ.get("SECKILL_AUTH_CACHE_SECONDS", 900)
    return int(value)


def entry_key(token_key: str) -> str:
    return _PREFIX + token_key


def _revoked_key(token_key: str) -> str:
    return _REVOKED + token_key


def redis_client():
    """A plain Redis client on REDIS_URL (cheaper than Django's cache layer on the purchase path),
    or None in the embedded default."""
    url = settings.REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url)
            if client is None:
                client = redis.Redis.from_url(url, socket_timeout=5)
                client._pm_remember = client.register_script(_REMEMBER)
                _clients[url] = client
    return client


def enabled() -> bool:
    return bool(settings.REDIS_URL) and cache_seconds() > 0


def _value(user: AbstractBaseUser) -> str:
    joined = getattr(user, "date_joined", None)
    ms = int(joined.timestamp() * 1000) if joined is not None else 0
    return f"{user.pk}:{ms}:{user.get_username()}"


def user_from_entry(raw: bytes | str | None) -> AbstractBaseUser | None:
    """The (unsaved, active) user an entry describes, or None for no entry."""
    if not raw:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode()
    user_id, ms, username = raw.split(":", 2)
    from django.contrib.auth import get_user_model

    return get_user_model()(
        id=int(user_id),
        username=username,
        is_active=True,
        date_joined=datetime.fromtimestamp(int(ms) / 1000, tz=UTC),
    )


def token_user(token_key: str) -> AbstractBaseUser | None:
    """The user of a token from the shared lookup (one Redis GET), or None when not there."""
    client = redis_client()
    if client is None or cache_seconds() <= 0:
        return None
    return user_from_entry(client.get(entry_key(token_key)))


def token_remember(token_key: str, user: AbstractBaseUser) -> None:
    """Write a token's entry after a database read, unless it was revoked meanwhile. Best effort:
    the request already has its user from the database; a Redis that cannot take the write (down,
    or a replica turned read-only in a failover) only means the next request reads it again."""
    try:
        tokens_remember([(token_key, user)])
    except redis.RedisError:
        log.warning("token lookup entry not written", exc_info=True)


def tokens_remember(pairs: list[tuple[str, AbstractBaseUser]]) -> None:
    """Write the entries of tokens just read or issued (one round trip however many)."""
    client = redis_client()
    ttl = cache_seconds()
    active = [(key, user) for key, user in pairs if user.is_active]
    if client is None or ttl <= 0 or not active:
        return
    if len(active) == 1:  # a token just read (the purchase path): the script alone, one round trip
        key, user = active[0]
        client._pm_remember(keys=[entry_key(key), _revoked_key(key)], args=[_value(user), ttl])
        return
    # Tokens issued together: one pipeline; redis-py loads the script first if Redis lacks it.
    pipe = client.pipeline(transaction=False)
    for key, user in active:
        client._pm_remember(keys=[entry_key(key), _revoked_key(key)], args=[_value(user), ttl], client=pipe)
    pipe.execute()


def _remember_if_still_active(pairs: list[tuple[str, AbstractBaseUser]]) -> None:
    """Entries of issued tokens, for the users still active in the database now: a deactivation
    that committed between the password check and the issue must not leave an active entry."""
    from django.contrib.auth import get_user_model

    ids = [u.pk for _, u in pairs]
    users = get_user_model().objects.filter(is_active=True)
    active = {
        pk
        for i in range(0, len(ids), 5000)
        for pk in users.filter(pk__in=ids[i : i + 5000]).values_list("pk", flat=True)
    }
    tokens_remember([(key, user) for key, user in pairs if user.pk in active])


def tokens_issued(pairs: list[tuple[str, AbstractBaseUser]]) -> None:
    """Tokens just issued: their entries are written once the issuing transaction commits."""
    if pairs and enabled():
        items = list(pairs)
        transaction.on_commit(lambda: _remember_if_still_active(items))


def tokens_revoke_now(token_keys: list[str]) -> None:
    """Remove the entries and write the revocation marks; raises redis.RedisError on failure."""
    client = redis_client()
    if client is None:
        return
    pipe = client.pipeline(transaction=False)
    for k in token_keys:
        pipe.set(_revoked_key(k), 1, ex=REVOKED_TTL)
        pipe.delete(entry_key(k))
    pipe.execute()


def _mark_or_retry(token_keys: list[str]) -> None:
    """The revocation must reach Redis, or the token keeps buying until its entry expires: when
    Redis fails right after the commit, a task retries it (with backoff, for as long as an entry
    could live)."""
    try:
        tokens_revoke_now(token_keys)
    except redis.RedisError:
        log.error("token revocation not written to Redis; retrying in a task (%d tokens)", len(token_keys))
        from .tasks import tokens_revoke

        tokens_revoke.apply_async(kwargs={"token_keys": token_keys}, countdown=1)


def tokens_mark_revoked(token_keys: list[str]) -> None:
    """Tokens deleted: once the deletion commits, their entries go and a revocation mark stays (a
    lookup that read the row before the commit cannot write the entry back)."""
    if token_keys:
        keys = list(token_keys)
        transaction.on_commit(lambda: _mark_or_retry(keys))


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
