"""The flash sale's public state, answered before anything touches the database.

Whether a sale is sold out, not started or ended is the same for every customer, so the purchase
endpoint decides it before the token check (PurchaseView.initial): in one Redis round trip it reads
the Redis gate's meta and stock, the database gate's sold-out flag and the token's entry in the
shared token lookup (accounts/tokens.py), which the authentication then uses. A refusal is the
contract's 409 (`sold_out`, `not_started` with `begins_at`, `ended` with `ended_at`), not
throttled, and costs no query.

Only for a request that carries credentials (a `Token` header or a session cookie): without any it
is 401 as before. A request with an Idempotency-Key is authenticated first, so a retry replays the
answer stored for it. The database gate has no state in Redis: when it says a voucher is sold out,
a flag is kept for SOLD_OUT_FLAG_SECONDS (3 s) and answers the next buyers from Redis; a restock
or a unit coming back removes it at once (seckill/receivers.py)."""

import logging
import time

import redis
from django.conf import settings

from accounts import tokens
from config import metrics
from config.errors import DomainError

from . import gate
from .purchase import public_refusal

SOLD_OUT_FLAG_SECONDS = 3
log = logging.getLogger("parkmarket.seckill")


def flag_key(voucher_id: int) -> str:
    return f"{settings.SECKILL_KEY_PREFIX}:soldout:{voucher_id}"


def flag_sold_out(voucher_id: int) -> None:
    """The database gate said sold out: answer the next buyers from Redis for a few seconds. The
    flag only saves work; if Redis cannot take it the buyer still gets the database's answer."""
    if not settings.REDIS_URL:
        return
    try:
        gate.client().set(flag_key(voucher_id), 1, ex=SOLD_OUT_FLAG_SECONDS)
    except redis.RedisError:
        log.warning("seckill sold-out flag not set for voucher=%s", voucher_id, exc_info=True)


def flag_clear(voucher_id: int) -> None:
    """A unit is back or stock was added: buyers go to the database gate again. Best effort: if
    Redis cannot take it the flag lapses on its own within SOLD_OUT_FLAG_SECONDS, and what follows
    (the Redis gate's own update) still runs."""
    if not settings.REDIS_URL:
        return
    try:
        gate.client().delete(flag_key(voucher_id))
    except redis.RedisError:
        log.warning("seckill sold-out flag not cleared for voucher=%s", voucher_id, exc_info=True)


def _token_key(request) -> str | None:
    parts = request.META.get("HTTP_AUTHORIZATION", "").split()
    if len(parts) == 2 and parts[0].lower() == "token":
        return parts[1]
    return None


def _shares_the_gate_redis() -> bool:
    """True when the token lookup's Redis is the gate's, so one pipeline reads both."""
    return not gate.clustered() and not getattr(settings, "SECKILL_REDIS_URL", "")


def refuse_before_auth(request, voucher_id: int) -> None:
    """Raise the sale's public refusal (409) for a request with credentials, before the token is
    checked; otherwise leave what was read on the request (`gate_peek` for the purchase,
    `token_entry` for the authentication) and return."""
    if not settings.REDIS_URL:
        return
    token_key = _token_key(request)
    if token_key is None and settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return  # no credentials: the authentication answers 401
    lookup = token_key is not None and tokens.enabled()
    joint = lookup and _shares_the_gate_redis()
    pipe = gate.client().pipeline(transaction=False)
    redis_gate = gate.enabled()
    if redis_gate:
        k = gate.keys(voucher_id)
        pipe.hgetall(k.meta)
        pipe.get(k.stock)
    pipe.get(flag_key(voucher_id))
    if joint:
        pipe.get(tokens.entry_key(token_key))
    answers = pipe.execute()
    if lookup:
        raw = answers[-1] if joint else tokens.redis_client().get(tokens.entry_key(token_key))
        request.token_entry = (token_key, raw)
    refusal = None
    if redis_gate:
        meta, stock = answers[0], answers[1]
        stock = None if stock is None else int(stock)
        request.gate_peek = (meta, stock)
        if meta and stock is not None:
            refusal = public_refusal(meta, stock, int(time.time() * 1000))
    if refusal is None and answers[2 if redis_gate else 0]:
        refusal = DomainError("sold_out")
    if refusal is None or "HTTP_IDEMPOTENCY_KEY" in request.META:
        return
    metrics.purchases.labels("sold_out" if refusal.code == "sold_out" else "refused").inc()
    raise refusal
