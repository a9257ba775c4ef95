"""The flash-sale purchase path. `voucher_purchase` is the one entry point of the API and the pages.

With the Redis gate on (SECKILL_GATE=redis) a flash sale is decided in Redis: one Lua script checks
the window, the stock and the buyer's count, takes the unit and records the pending order,
atomically; the answer is 202 with an order id that GET /orders/{id} already knows (`processing`).
The intake (seckill/intake.py) then writes the order through the database gate of the orders app.
Everything else (normal vouchers, or the Redis gate off) is the orders app's business: a purchase
written at once by `orders.services.order_purchase` (201)."""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser

from config import metrics
from config.errors import DomainError
from coupons.errors import sale_ended, sale_not_started, voucher_not_on_sale
from coupons.models import Voucher
from orders.ids import new_order_id
from orders.limits import purchase_rules_check
from orders.models import Order
from orders.placing import limit_error, order_purchase
from orders.selectors import processing_order

from . import dispatch, gate


@dataclass(frozen=True)
class PurchaseResult:
    order: Order
    accepted_async: bool  # True: the Redis gate accepted it, the intake writes it (HTTP 202)


def epoch_ms_to_datetime(ms: str | int) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC) if ms not in ("", None) else None


def voucher_from_meta(meta: dict[str, str]) -> Voucher:
    """An unsaved Voucher carrying the sale's rules from the gate's meta (no database read)."""
    return Voucher(
        pk=int(meta["id"]),
        organization_id=int(meta["org"]),
        lot_id=int(meta["lot"]) if meta.get("lot") else None,
        title=meta.get("title", ""),
        kind=meta["kind"],
        status=meta["status"],
        price=int(meta["price"]),
        begins_at=epoch_ms_to_datetime(meta.get("begins", "")),
        ends_at=epoch_ms_to_datetime(meta.get("ends", "")),
        per_user_limit=int(meta["limit"]),
        payment_window_seconds=int(meta.get("window") or 900),
        low_stock_threshold=int(meta.get("threshold") or 0),
    )


def _refuse(code: int, n: int, voucher: Voucher) -> DomainError:
    """The gate's answer code as the contract's error."""
    if code == gate.LIMIT:
        return limit_error(voucher, n)
    if code == gate.NOT_ON_SALE:
        return voucher_not_on_sale()
    if code == gate.NOT_STARTED:
        return sale_not_started(voucher.begins_at)
    if code == gate.ENDED:
        return sale_ended(voucher.ends_at)
    return DomainError("sold_out")


def _precheck(meta: dict[str, str], stock: int, voucher: Voucher, now_ms: int) -> None:
    """The answers the gate would give, from the peek alone: sold-out and window refusals never
    reach the database (nor the organization's purchase rules)."""
    if meta["status"] != Voucher.Status.LISTED:
        raise _refuse(gate.NOT_ON_SALE, 0, voucher)
    refusal = public_refusal(meta, stock, now_ms)
    if refusal is not None:
        raise refusal


def public_refusal(meta: dict[str, str], stock: int, now_ms: int) -> DomainError | None:
    """The refusal every customer of a listed flash sale gets now, from the gate's meta and stock
    alone (not started, ended, sold out), or None. The same for everyone: decided before the token
    is checked (seckill/soldout.py)."""
    if meta.get("kind") != Voucher.Kind.SECKILL or meta.get("status") != Voucher.Status.LISTED:
        return None
    begins, ends = meta.get("begins"), meta.get("ends")
    if begins and now_ms < int(begins):
        return sale_not_started(epoch_ms_to_datetime(begins))
    if ends and now_ms >= int(ends):
        return sale_ended(epoch_ms_to_datetime(ends))
    if stock <= 0:
        return DomainError("sold_out")
    return None


def _load_from_database(voucher_id: int) -> Voucher | None:
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is not None and voucher.kind == Voucher.Kind.SECKILL and voucher.status == Voucher.Status.LISTED:
        gate.gate_load(voucher)
    return voucher


def purchase_through_redis(*, meta: dict[str, str], stock: int, user: AbstractBaseUser) -> Order:
    voucher = voucher_from_meta(meta)
    now_ms = int(time.time() * 1000)
    _precheck(meta, stock, voucher, now_ms)
    purchase_rules_check(voucher=voucher, user=user)
    order_id = new_order_id()
    code, n = gate.take_and_index(voucher_id=voucher.pk, user_id=user.pk, order_id=order_id, now_ms=now_ms)
    if code == gate.NOT_LOADED:  # flushed or evicted since the peek
        _load_from_database(voucher.pk)
        code, n = gate.take_and_index(voucher_id=voucher.pk, user_id=user.pk, order_id=order_id, now_ms=now_ms)
        if code == gate.NOT_LOADED:
            raise voucher_not_on_sale()
    if code != gate.OK:
        raise _refuse(code, n, voucher)
    dispatch.submit({"order_id": str(order_id), "voucher_id": voucher.pk, "user_id": user.pk, "accepted_ms": now_ms})
    return processing_order(
        order_id=order_id,
        user_id=user.pk,
        voucher_id=voucher.pk,
        organization_id=voucher.organization_id,
        amount=voucher.price,
        single_slot=voucher.per_user_limit == 1,
        accepted_at=epoch_ms_to_datetime(now_ms),
    )


# Refusal codes counted as the "limit" outcome of a purchase (per-user limit, organization rules).
LIMIT_CODES = frozenset({"already_purchased", "purchase_limit_reached"})


def voucher_purchase(
    *, voucher_id: int, user: AbstractBaseUser, peeked: tuple[dict, int | None] | None = None
) -> PurchaseResult:
    """Buy one unit of a voucher for `user`: 202-style (accepted, `processing`) through the Redis
    gate for flash sales when it is on, else 201-style (written) through the orders app.
    `peeked` is the gate's (meta, stock) when the caller already read it (the API's throttle
    reads it in the same round trip). Counts the outcome (`parkmarket_purchases_total`): accepted
    or a refusal here; "written" and "failed" are counted where the order's row commits."""
    try:
        result = _purchase(voucher_id=voucher_id, user=user, peeked=peeked)
    except DomainError as exc:
        outcome = "sold_out" if exc.code == "sold_out" else "limit" if exc.code in LIMIT_CODES else "refused"
        metrics.purchases.labels(outcome).inc()
        raise
    if result.accepted_async:
        metrics.purchases.labels("accepted").inc()
    return result


def _purchase(*, voucher_id: int, user: AbstractBaseUser, peeked: tuple[dict, int | None] | None) -> PurchaseResult:
    if gate.enabled():
        meta, stock = peeked if peeked is not None else gate.peek(voucher_id)
        if not meta or stock is None:
            voucher = _load_from_database(voucher_id)
            if voucher is None:
                raise voucher_not_on_sale()
            if voucher.kind == Voucher.Kind.SECKILL and voucher.status == Voucher.Status.LISTED:
                meta, stock = gate.peek(voucher_id)
        if meta and stock is not None and meta.get("kind") == Voucher.Kind.SECKILL:
            order = purchase_through_redis(meta=meta, stock=stock, user=user)
            return PurchaseResult(order=order, accepted_async=True)
    try:
        order = order_purchase(voucher_id=voucher_id, user=user)
    except DomainError as exc:
        if exc.code == "sold_out":
            from .soldout import flag_sold_out

            flag_sold_out(voucher_id)
        raise
    return PurchaseResult(order=order, accepted_async=False)
