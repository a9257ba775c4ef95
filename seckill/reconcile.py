"""Reconciliation: the Redis gate against the database, and the oversell audit.

For each voucher on sale (or whose sale ended less than a day ago):
1. Database audit, from one snapshot: live orders never exceed the units put on sale
   (`initial_stock`); if they do, an `oversell` alert goes to the organization with the orders
   involved. stock + live orders == initial_stock is checked as well (a `drift` alert if not).
2. Gate (Redis mode, flash sales): pending entries whose order is written are tidied; pending
   entries older than SECKILL_PENDING_STALE_SECONDS with no row are re-enqueued (their task was
   lost). A gate with no stock is loaded from the database. Then the gate's stock and buyers are
   compared with what the database and the pending entries imply; a difference seen on two runs
   in a row (or at once with repair_now) is repaired with a compare-and-set script, so a sale in
   flight is never overwritten."""

import hashlib
import json
import logging
import time
from datetime import timedelta

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from config import metrics
from coupons.models import Alert, Voucher
from coupons.services import alert_raise
from orders.models import Order

from . import conf, gate
from .intake import gate_tidy

log = logging.getLogger("parkmarket.seckill")


def _audit_database(voucher: Voucher, report: dict) -> None:
    live = (
        Order.objects.filter(voucher_id=OuterRef("pk"), status__in=Order.LIVE)
        .order_by()
        .values("voucher_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    row = (
        Voucher.objects.filter(pk=voucher.pk)
        .annotate(live=Coalesce(Subquery(live), 0))
        .values("stock", "initial_stock", "live")
        .first()
    )
    if row is None or row["initial_stock"] is None:
        return
    stock, initial, live_count = row["stock"], row["initial_stock"], row["live"]
    report.update(db_stock=stock, initial_stock=initial, live_orders=live_count)
    if live_count > initial:
        _raise_oversell(voucher, initial=initial, live_count=live_count, report=report)
    elif stock is not None and stock + live_count != initial:
        report["db_drift"] = stock + live_count - initial
        _raise_once(
            voucher,
            Alert.Kind.DRIFT,
            f"“{voucher.title}”: stock {stock} + live orders {live_count} != units put on sale {initial}.",
            {"stock": stock, "live_orders": live_count, "initial_stock": initial, "source": "database"},
        )


def _raise_once(voucher: Voucher, kind: str, message: str, details: dict) -> Alert | None:
    signature = hashlib.sha256(json.dumps(details, sort_keys=True, default=str).encode()).hexdigest()[:16]
    if Alert.objects.filter(
        voucher=voucher, kind=kind, acknowledged_at__isnull=True, details__signature=signature
    ).exists():
        return None
    return alert_raise(
        organization_id=voucher.organization_id,
        voucher_id=voucher.pk,
        kind=kind,
        message=message,
        details={**details, "signature": signature},
    )


def _raise_oversell(voucher: Voucher, *, initial: int, live_count: int, report: dict) -> None:
    orders = list(
        Order.objects.filter(voucher_id=voucher.pk, status__in=Order.LIVE)
        .order_by("created_at", "id")
        .values_list("id", "user_id", "status", "created_at")
    )
    excess = [str(o[0]) for o in orders[initial:]]
    report["oversell"] = live_count - initial
    metrics.oversell_alerts.inc()
    _raise_once(
        voucher,
        Alert.Kind.OVERSELL,
        f"OVERSELL on “{voucher.title}”: {live_count} live orders for {initial} units put on sale.",
        {
            "initial_stock": initial,
            "live_orders": live_count,
            "excess_orders": excess,
            "orders": [
                {"id": str(o[0]), "user": o[1], "status": o[2], "created_at": o[3].isoformat() if o[3] else None}
                for o in orders[:500]
            ],
        },
    )


def _snapshot(voucher_id: int) -> tuple[str | None, dict[str, str], dict[str, str]]:
    """The gate's stock, pending entries and buyers, read atomically (MULTI)."""
    k = gate.keys(voucher_id)
    pipe = gate.client().pipeline(transaction=True)
    pipe.get(k.stock)
    pipe.hgetall(k.pending)
    pipe.hgetall(k.buyers)
    stock, pending, buyers = pipe.execute()
    return stock, pending, buyers


def _parse_pending(raw: dict[str, str]) -> dict[str, tuple[int, int]]:
    out = {}
    for order_id, value in raw.items():
        user, _, ms = value.partition(":")
        out[order_id] = (int(user), int(ms or 0))
    return out


def _reconcile_gate(voucher: Voucher, report: dict, *, repair_now: bool) -> None:
    from .tasks import intake_order

    k = gate.keys(voucher.pk)
    if voucher.status == Voucher.Status.LISTED or gate.client().exists(k.meta):
        # A delisted voucher's gate too: a delist whose sync was lost must not keep it on sale.
        gate.gate_sync_meta(voucher)
    pending = gate.pending_entries(voucher.pk)
    # Written orders still listed as pending: the intake stopped between its commit and its tidy.
    if pending:
        written = list(Order.objects.filter(pk__in=list(pending)).only("id", "status", "failure_code", "user_id"))
        for order in written:
            gate_tidy(order, voucher_id=voucher.pk, user_id=order.user_id)
            report.setdefault("tidied", []).append(str(order.pk))
        stale_before = int(time.time() * 1000) - conf.pending_stale_seconds() * 1000
        written_ids = {str(o.pk) for o in written}
        for order_id, (user_id, accepted_ms) in pending.items():
            if order_id not in written_ids and accepted_ms < stale_before:
                intake_order.apply_async(
                    kwargs={
                        "order_id": order_id,
                        "voucher_id": voucher.pk,
                        "user_id": user_id,
                        "accepted_ms": accepted_ms,
                    }
                )
                report.setdefault("reenqueued", []).append(order_id)
    stock1, pending_raw, buyers_raw = _snapshot(voucher.pk)
    if stock1 is None:
        if voucher.status == Voucher.Status.LISTED:
            report["gate"] = "loaded" if gate.gate_load(voucher) else "loaded-by-another"
        else:
            report["gate"] = "not loaded"
        return
    expected_stock, expected_buyers, _written = gate.expected_state(voucher.pk, _parse_pending(pending_raw))
    stock2, pending_raw2, buyers_raw2 = _snapshot(voucher.pk)
    if (stock2, pending_raw2, buyers_raw2) != (stock1, pending_raw, buyers_raw):
        report["gate"] = "busy"  # sales moved during the read: next run
        return
    buyers = {int(u): int(n) for u, n in buyers_raw2.items() if int(n) > 0}
    report.update(gate_stock=int(stock2), gate_pending=len(pending_raw2), expected_stock=expected_stock)
    if int(stock2) == expected_stock and buyers == expected_buyers:
        gate.client().delete(k.recon)
        report.setdefault("gate", "ok")
        return
    signature = json.dumps([stock2, len(pending_raw2), expected_stock, sorted(expected_buyers.items())])
    seen = gate.client().get(k.recon)
    if not repair_now and seen != signature:
        gate.client().set(k.recon, signature, ex=3600)
        report["gate"] = "drift seen"
        return
    repaired = gate.gate_repair(
        voucher_id=voucher.pk,
        observed_stock=stock2,
        observed_buyers=buyers_raw2,
        observed_pending=list(pending_raw2),
        stock=expected_stock,
        buyers=expected_buyers,
    )
    report["gate"] = "repaired" if repaired else "busy"
    if repaired:
        metrics.gate_repairs.inc()
        log.warning(
            "seckill gate drift repaired voucher=%s stock %s -> %s, buyers %s -> %s",
            voucher.pk,
            stock2,
            expected_stock,
            len(buyers),
            len(expected_buyers),
        )
        alert_raise(
            organization_id=voucher.organization_id,
            voucher_id=voucher.pk,
            kind=Alert.Kind.DRIFT,
            message=f"Flash-sale gate of “{voucher.title}” repaired: stock {stock2} -> {expected_stock}.",
            details={
                "gate_stock": int(stock2),
                "expected_stock": expected_stock,
                "gate_buyers": len(buyers),
                "expected_buyers": len(expected_buyers),
                "source": "redis",
            },
        )


def reconcile_voucher(voucher: Voucher, *, repair_now: bool = False) -> dict:
    report: dict = {"voucher": voucher.pk}
    _audit_database(voucher, report)
    if gate.enabled() and voucher.kind == Voucher.Kind.SECKILL:
        _reconcile_gate(voucher, report, repair_now=repair_now)
    return report


def vouchers_to_reconcile():
    since = timezone.now() - timedelta(days=1)
    return (
        Voucher.objects.exclude(status=Voucher.Status.DRAFT)
        .filter(Q(status=Voucher.Status.LISTED) | Q(ends_at__gte=since) | Q(updated_at__gte=since))
        .order_by("pk")
    )


def reconcile_all(*, repair_now: bool = False) -> list[dict]:
    reports = []
    accepted_ms: list[int] = []  # of every pending entry left after the run
    for voucher in vouchers_to_reconcile():
        try:
            reports.append(reconcile_voucher(voucher, repair_now=repair_now))
        except Exception:  # one broken voucher must not stop the audit of the others
            log.exception("seckill reconcile failed voucher=%s", voucher.pk)
            reports.append({"voucher": voucher.pk, "error": True})
            continue
        if gate.enabled() and voucher.kind == Voucher.Kind.SECKILL:
            accepted_ms += [ms for _user, ms in gate.pending_entries(voucher.pk).values()]
    metrics.gate_pending.set(len(accepted_ms))
    metrics.gate_oldest_pending.set(max(0.0, time.time() - min(accepted_ms) / 1000) if accepted_ms else 0.0)
    return reports
