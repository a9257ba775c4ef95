"""The Redis gate in front of the database (Lua scripts, buyer counts, intake hand-off).

Every key of one voucher shares one hash tag, so each script touches a single slot and runs
unchanged on Redis Cluster:

    {P:v:ID}:stock    units the gate may still hand out (string integer)
    {P:v:ID}:buyers   hash user id -> live orders the gate knows of (accepted or written)
    {P:v:ID}:meta     hash of the sale's rules (status, window in epoch ms, per-user limit, ...)
    {P:v:ID}:pending  hash order id -> "user_id:accepted_ms": accepted, not yet written by the intake
    {P:v:ID}:recon    last drift seen by the reconciliation (a drift is repaired when seen twice)

Invariant at rest: stock + |pending not yet in the database| == the database's stock, and
buyers[u] == live orders of u in the database + pending entries of u. The database stays the
authority: the intake writes every accepted order through the database gate, so a gate that is
wrong can only cause refusals (a `failed` order), never an oversell.

A gate with a missing key (never loaded, evicted, Redis flushed or restarted) refuses with
NOT_LOADED; the caller loads it from the database (`gate_load`) and tries again. Scripts never
sell from nothing."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from redis import exceptions as redis_errors

log = logging.getLogger("parkmarket.seckill")

# Answers of the purchase script.
OK = 0
SOLD_OUT = 1
LIMIT = 2
NOT_STARTED = 3
ENDED = 4
NOT_ON_SALE = 5
NOT_LOADED = 9

ORDER_INDEX_TTL = 24 * 3600


LUA_DIR = Path(__file__).resolve().parent / "lua"


def _lua(name: str) -> str:
    return (LUA_DIR / f"{name}.lua").read_text()


class _Scripts:
    """The gate's Lua scripts (seckill/lua/*.lua), registered once per client: each declares every
    key it touches in KEYS, all of one voucher under one hash tag (Redis Cluster routes it whole)."""

    def __init__(self, client):
        self.purchase = client.register_script(_lua("purchase"))
        self.load = client.register_script(_lua("load"))
        self.release = client.register_script(_lua("release"))
        self.giveback = client.register_script(_lua("giveback"))
        self.repair = client.register_script(_lua("repair"))


_lock = threading.Lock()
_state: dict[str, object] = {}


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.SECKILL_GATE == "redis"


def clustered() -> bool:
    return bool(getattr(settings, "SECKILL_REDIS_CLUSTER", False))


def client():
    """One connection pool per process (the URL is read from settings, so tests can switch): the
    gate's own Redis (SECKILL_REDIS_URL) when set, else REDIS_URL; a Redis Cluster client when
    SECKILL_REDIS_CLUSTER is on (any node's address: the client discovers the others)."""
    url = getattr(settings, "SECKILL_REDIS_URL", "") or settings.REDIS_URL
    cluster = clustered()
    cached = _state.get("client")
    if cached is not None and _state.get("url") == (url, cluster):
        return cached
    with _lock:
        if _state.get("url") != (url, cluster) or _state.get("client") is None:
            if cluster:
                from redis.cluster import RedisCluster

                c = RedisCluster.from_url(url, decode_responses=True, socket_timeout=5)
            else:
                import redis

                c = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, health_check_interval=30)
            _state.update(client=c, url=(url, cluster), scripts=_Scripts(c))
    return _state["client"]


def scripts() -> _Scripts:
    client()
    return _state["scripts"]  # type: ignore[return-value]


@dataclass(frozen=True)
class Keys:
    stock: str
    buyers: str
    meta: str
    pending: str
    recon: str


def keys(voucher_id: int) -> Keys:
    tag = f"{{{settings.SECKILL_KEY_PREFIX}:v:{voucher_id}}}"
    return Keys(f"{tag}:stock", f"{tag}:buyers", f"{tag}:meta", f"{tag}:pending", f"{tag}:recon")


def order_index_key(order_id) -> str:
    return f"{settings.SECKILL_KEY_PREFIX}:o:{order_id}"


def _ms(dt) -> str:
    return "" if dt is None else str(int(dt.timestamp() * 1000))


def meta_of(voucher) -> dict[str, str]:
    """What the gate and the hot path need to know about a sale, without the database."""
    return {
        "id": str(voucher.pk),
        "status": voucher.status,
        "kind": voucher.kind,
        "begins": _ms(voucher.begins_at),
        "ends": _ms(voucher.ends_at),
        "limit": str(voucher.per_user_limit),
        "org": str(voucher.organization_id),
        "lot": "" if voucher.lot_id is None else str(voucher.lot_id),
        "price": str(voucher.price),
        "window": str(voucher.payment_window_seconds),
        "threshold": str(voucher.low_stock_threshold),
        "title": voucher.title,
    }


# --- the hot path ---------------------------------------------------------------------------------


def peek(voucher_id: int) -> tuple[dict[str, str], int | None]:
    """The sale's meta and the gate's stock in one round trip ({} and None when not loaded)."""
    k = keys(voucher_id)
    pipe = client().pipeline(transaction=False)
    pipe.hgetall(k.meta)
    pipe.get(k.stock)
    meta, stock = pipe.execute()
    return meta, (None if stock is None else int(stock))


def take_and_index(*, voucher_id: int, user_id: int, order_id: uuid.UUID, now_ms: int) -> tuple[int, int]:
    """The purchase script and the order's index key in one round trip. The index is written
    whatever the answer (refusals after the peek are rare) and removed when the script refused.

    On Redis Cluster the index key (found by order id alone) lives in another slot than the
    voucher's keys, so the two cannot share a pipeline with the script: the script runs first (on
    the voucher's shard), and the index is written only for an accepted order."""
    k = keys(voucher_id)
    if clustered():
        code, n = scripts().purchase(keys=[k.stock, k.buyers, k.meta, k.pending], args=[user_id, str(order_id), now_ms])
        if int(code) == OK:
            client().set(order_index_key(order_id), f"{voucher_id}:{user_id}:{now_ms}", ex=ORDER_INDEX_TTL)
        return int(code), int(n)
    args = [user_id, str(order_id), now_ms]
    try:
        code, n = _take_pipeline(k, args, voucher_id, order_id)
    except redis_errors.NoScriptError:  # a new or restarted Redis: load the script, once more
        scripts().purchase.sha = client().script_load(_lua("purchase"))
        code, n = _take_pipeline(k, args, voucher_id, order_id)
    if int(code) != OK:
        client().delete(order_index_key(order_id))
    return int(code), int(n)


def _take_pipeline(k: Keys, args: list, voucher_id: int, order_id) -> tuple[int, int]:
    """EVALSHA of the purchase script and the index SET in one round trip (redis-py's script object
    in a pipeline would first ask SCRIPT EXISTS: a round trip of its own on every purchase)."""
    pipe = client().pipeline(transaction=False)
    pipe.evalsha(scripts().purchase.sha, 4, k.stock, k.buyers, k.meta, k.pending, *args)
    pipe.set(order_index_key(order_id), f"{voucher_id}:{args[0]}:{args[2]}", ex=ORDER_INDEX_TTL)
    (code, n), _ = pipe.execute()
    return code, n


def gate_done_many(pairs: list[tuple[int, str]]) -> None:
    """Written orders leave their vouchers' pending sets, in one round trip."""
    if not pairs:
        return
    pipe = client().pipeline(transaction=False)
    for voucher_id, order_id in pairs:
        pipe.hdel(keys(voucher_id).pending, str(order_id))
    pipe.execute()


def order_index(order_id) -> tuple[int, int, int] | None:
    raw = client().get(order_index_key(order_id))
    if not raw:
        return None
    voucher_id, user_id, accepted_ms = (int(x) for x in raw.split(":"))
    return voucher_id, user_id, accepted_ms


# --- loading and changes from the database ---------------------------------------------------------


def pending_entries(voucher_id: int) -> dict[str, tuple[int, int]]:
    """order id -> (user id, accepted ms) of the accepted orders the intake has not finished."""
    raw = client().hgetall(keys(voucher_id).pending)
    out = {}
    for order_id, value in raw.items():
        user, _, ms = value.partition(":")
        out[order_id] = (int(user), int(ms or 0))
    return out


def expected_state(voucher_id: int, pending: dict[str, tuple[int, int]]) -> tuple[int, dict[int, int], set[str]]:
    """From one database snapshot: the gate's expected stock and buyers given the pending entries,
    and which of those pending orders are already written."""
    from django.db import connection, transaction

    from coupons.models import Voucher
    from orders.models import Order

    outer = connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql" and not outer:
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stock = Voucher.objects.filter(pk=voucher_id).values_list("stock", flat=True).first() or 0
        buyers: dict[int, int] = {}
        for user_id in Order.objects.filter(voucher_id=voucher_id, status__in=Order.LIVE).values_list(
            "user_id", flat=True
        ):
            buyers[user_id] = buyers.get(user_id, 0) + 1
        written = set()
        if pending:
            ids = [uuid.UUID(o) for o in pending]
            written = {str(o) for o in Order.objects.filter(pk__in=ids).values_list("id", flat=True)}
    for order_id, (user_id, _ms) in pending.items():
        if order_id not in written:
            stock -= 1
            buyers[user_id] = buyers.get(user_id, 0) + 1
    return max(stock, 0), buyers, written


def gate_load(voucher) -> bool:
    """Prepare (or refresh) the gate of a seckill voucher from the database. Writes the meta every
    time; writes stock and buyers only when the gate holds no stock yet, so a load racing with
    sales never resets a live gate. True when this call loaded the stock."""
    k = keys(voucher.pk)
    meta = meta_of(voucher)
    pending = pending_entries(voucher.pk)
    stock, buyers, _written = expected_state(voucher.pk, pending)
    args: list = [stock, len(meta)]
    for name, value in meta.items():
        args += [name, value]
    for user_id, count in buyers.items():
        args += [user_id, count]
    loaded = bool(scripts().load(keys=[k.stock, k.buyers, k.meta, k.pending], args=args))
    # The rules just written come from the caller's read. A change committed since (a delist, a
    # new window) has synced the gate already, and the line above may have overwritten it: read
    # the row again, after the write, and push it if it moved. A change committing later still
    # syncs after its own commit, so the gate ends with the newest rules either way.
    from coupons.models import Voucher

    fresh = Voucher.objects.filter(pk=voucher.pk).first()
    if fresh is not None and meta_of(fresh) != meta:
        client().hset(k.meta, mapping=meta_of(fresh))
    if loaded:
        log.info(
            "seckill gate loaded voucher=%s stock=%s buyers=%s pending=%s", voucher.pk, stock, len(buyers), len(pending)
        )
    return loaded


def gate_sync_meta(voucher) -> None:
    """Push changed sale rules (status, window, limit, price) to a gate, loaded or not."""
    meta = meta_of(voucher)
    client().hset(keys(voucher.pk).meta, mapping=meta)


def gate_add_stock(*, voucher_id: int, quantity: int) -> None:
    """A restock: more units into a loaded gate (an unloaded one reads the database when it loads)."""
    k = keys(voucher_id)
    scripts().release(keys=[k.stock, k.buyers], args=["-", quantity])


def gate_release(*, voucher_id: int, user_id: int, order_id: uuid.UUID) -> None:
    """Give a unit and the buyer's slot back to the Redis gate after a cancel, expiry or refund."""
    if not settings.REDIS_URL:
        return None
    k = keys(voucher_id)
    try:
        scripts().release(keys=[k.stock, k.buyers], args=[user_id, 1])
    except Exception:  # the database already holds the truth; the reconciliation repairs the gate
        log.exception(
            "seckill gate release failed voucher=%s order=%s (reconciliation will repair)", voucher_id, order_id
        )
    return None


def gate_done(*, voucher_id: int, order_id) -> None:
    """The intake wrote the order: it leaves the pending set (stock and buyers stay as they are)."""
    client().hdel(keys(voucher_id).pending, str(order_id))


def gate_give_back(*, voucher_id: int, user_id: int, order_id, unit: bool = True) -> bool:
    """The intake refused or gave up an accepted order: the buyer's slot (and the unit, unless the
    database said sold out) come back, once per order."""
    k = keys(voucher_id)
    return bool(
        scripts().giveback(keys=[k.stock, k.buyers, k.pending], args=[str(order_id), user_id, 1 if unit else 0])
    )


def gate_repair(
    *,
    voucher_id: int,
    observed_stock: str,
    observed_buyers: dict[str, str],
    observed_pending: list[str],
    stock: int,
    buyers: dict[int, int],
) -> bool:
    """Set the gate's stock and buyers, only if it still holds exactly what was observed."""
    k = keys(voucher_id)
    args: list = [observed_stock, stock, len(observed_buyers), len(observed_pending)]
    for user_id, count in observed_buyers.items():
        args += [user_id, count]
    args += list(observed_pending)
    for user_id, count in buyers.items():
        args += [user_id, count]
    return bool(scripts().repair(keys=[k.stock, k.buyers, k.pending, k.recon], args=args))
