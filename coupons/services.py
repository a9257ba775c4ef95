"""Vouchers and their stock: operator writes (create, change, publish, delist, restock), units
taken and returned, low-stock and other alerts. Every write of a voucher goes through here: the
API, the admin actions, the demo seed, the orders app (units) and the tasks. coupons knows nothing
of the flash-sale gate above it: each change is announced after its commit (coupons/signals.py)."""

import logging
import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.models import Operator, Organization
from config.errors import DomainError

from .errors import voucher_not_on_sale
from .models import Alert, Voucher
from .signals import announce_on_commit, unit_returned, units_added, voucher_changed, voucher_published

log = logging.getLogger("parkmarket.coupons")

# The most units a voucher holds at once (the API's bound on `stock`; restocks stay under it too).
MAX_STOCK = 10_000_000

# Fields an operator may set; `benefit` arrives split into benefit_type / benefit_value.
EDITABLE = (
    "lot",
    "title",
    "kind",
    "price",
    "benefit_type",
    "benefit_value",
    "stock",
    "begins_at",
    "ends_at",
    "per_user_limit",
    "valid_days",
    "payment_window_seconds",
    "low_stock_threshold",
)


def _validate(voucher: Voucher) -> None:
    try:
        voucher.clean()
    except DjangoValidationError as exc:
        details = {
            ("benefit" if field.startswith("benefit") else field): list(messages)
            for field, messages in exc.message_dict.items()
        }
        raise DomainError(
            "validation_error", gettext_noop("The voucher is not valid."), details=details, status=400
        ) from exc


def voucher_create(*, organization: Organization, data: dict[str, Any], publish: bool = True) -> Voucher:
    """Create a voucher of `organization`; published (listed, gate prepared) unless publish=False."""
    fields = {k: v for k, v in data.items() if k in EDITABLE}
    if fields.get("kind") == Voucher.Kind.SECKILL and "per_user_limit" not in fields:
        fields["per_user_limit"] = 1
    lot = fields.pop("lot", None)
    voucher = Voucher(organization=organization, lot_id=getattr(lot, "pk", lot), **fields)
    voucher.initial_stock = voucher.stock
    _validate(voucher)
    with transaction.atomic():
        voucher.save()
        if publish:
            voucher = voucher_publish(voucher_id=voucher.pk)
    log.info("voucher created id=%s org=%s kind=%s published=%s", voucher.pk, organization.pk, voucher.kind, publish)
    return voucher


def voucher_update(*, voucher_id: int, data: dict[str, Any]) -> Voucher:
    """Change a voucher. A published one keeps its kind; its stock only grows (a restock)."""
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().get(pk=voucher_id)
        fields = {k: v for k, v in data.items() if k in EDITABLE}
        restock = 0
        if voucher.status != Voucher.Status.DRAFT:
            if "kind" in fields and fields["kind"] != voucher.kind:
                raise DomainError(
                    "validation_error",
                    gettext_noop("The kind of a published voucher cannot change."),
                    details={"kind": ["The kind of a published voucher cannot change."]},
                    status=400,
                )
            if "stock" in fields:
                new = fields.pop("stock")
                if (new is None) != (voucher.stock is None) or (new is not None and new < voucher.stock):
                    raise DomainError(
                        "invalid_state",
                        gettext_noop(
                            "The stock of a published voucher can only grow (a restock); delist it to stop selling."
                        ),
                        details={"stock": voucher.stock},
                    )
                restock = (new or 0) - (voucher.stock or 0)
            if fields.get("per_user_limit") == 1 and voucher.per_user_limit > 1:
                # Orders taken under a higher limit are outside the one-live-order unique index
                # (single_slot false), and a limit of 1 is enforced by that index alone.
                raise DomainError(
                    "invalid_state",
                    gettext_noop(
                        "The per-user limit of a published voucher cannot drop to 1; delist it and publish a new one."
                    ),
                    details={"per_user_limit": voucher.per_user_limit},
                )
        if "lot" in fields:
            lot = fields.pop("lot")
            voucher.lot_id = getattr(lot, "pk", lot)
        for name, value in fields.items():
            setattr(voucher, name, value)
        if voucher.status == Voucher.Status.DRAFT and "stock" in fields:
            voucher.initial_stock = voucher.stock
        _validate(voucher)
        voucher.save()
        if restock:
            voucher = voucher_restock(voucher_id=voucher.pk, quantity=restock)
        if voucher.status == Voucher.Status.LISTED:
            announce_on_commit(voucher_changed, voucher_id=voucher.pk)
    return voucher


def voucher_publish(*, voucher_id: int) -> Voucher:
    """List a voucher. For a flash sale this prepares the Redis gate (rules and stock)."""
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().get(pk=voucher_id)
        _validate(voucher)
        voucher.status = Voucher.Status.LISTED
        if voucher.published_at is None:
            voucher.published_at = timezone.now()
        if voucher.initial_stock is None and voucher.stock is not None:
            voucher.initial_stock = voucher.stock + voucher.sold_count
        voucher.save()
        announce_on_commit(voucher_published, voucher_id=voucher.pk)
    log.info("voucher published id=%s", voucher.pk)
    return voucher


def voucher_delist(*, voucher_id: int) -> Voucher:
    """Stop selling. Orders already taken stay; the gate refuses from now on."""
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().get(pk=voucher_id)
        voucher.status = Voucher.Status.DELISTED
        voucher.save(update_fields=["status", "updated_at"])
        announce_on_commit(voucher_changed, voucher_id=voucher.pk)
    log.info("voucher delisted id=%s", voucher.pk)
    return voucher


def voucher_restock(*, voucher_id: int, quantity: int) -> Voucher:
    """Put `quantity` more units on sale (database and gate); a low-stock alert may fire again."""
    if quantity < 1:
        raise DomainError(
            "validation_error",
            gettext_noop("Restock at least one unit."),
            details={"quantity": ["Must be at least 1."]},
            status=400,
        )
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().get(pk=voucher_id)
        if voucher.stock is None:
            raise DomainError("invalid_state", gettext_noop("This voucher has an unlimited stock."))
        if voucher.stock + quantity > MAX_STOCK:
            raise DomainError(
                "validation_error",
                f"A voucher holds at most {MAX_STOCK} units.",
                details={"quantity": [f"At most {MAX_STOCK - voucher.stock} more units."]},
                status=400,
            )
        Voucher.objects.filter(pk=voucher_id).update(
            stock=F("stock") + quantity, initial_stock=F("initial_stock") + quantity
        )
        Voucher.objects.filter(pk=voucher_id, stock__gt=F("low_stock_threshold")).update(low_stock_alerted_at=None)
        voucher.refresh_from_db()
        announce_on_commit(units_added, voucher_id=voucher_id, quantity=quantity)
    log.info("voucher restocked id=%s quantity=%s stock=%s", voucher_id, quantity, voucher.stock)
    return voucher


# --- stock: the conditional UPDATE that takes units, and their return --------------------------------


def voucher_take_units(*, voucher: Voucher, n: int = 1) -> int | None:
    """Take `n` units of a listed voucher, inside the caller's transaction: one conditional UPDATE,
    `stock = stock - n WHERE stock >= n AND status = 'listed'` (unlimited stock: only sold_count
    moves). It takes the voucher's row lock until the caller commits, which serialises the buyers of
    one voucher. The status is judged on the row the UPDATE locks (READ COMMITTED re-reads it after
    waiting), not on the caller's earlier read: a purchase queued behind a delist takes nothing.

    Returns the stock left (None for unlimited), or raises `not_found` (no longer listed) or
    `sold_out`. A take that crosses the low-stock threshold claims the alert in the same statement's
    transaction (once per crossing)."""
    qn = connection.ops.quote_name
    table = qn(Voucher._meta.db_table)
    stock, sold, status = qn("stock"), qn("sold_count"), qn("status")
    if voucher.stock is None:
        taking = f"{sold} = {sold} + %s WHERE id = %s AND {status} = %s"
        params = [n, voucher.pk, Voucher.Status.LISTED]
    else:
        taking = f"{stock} = {stock} - %s, {sold} = {sold} + %s WHERE id = %s AND {status} = %s AND {stock} >= %s"
        params = [n, n, voucher.pk, Voucher.Status.LISTED, n]
    sql = f"UPDATE {table} SET {taking} RETURNING {stock}, {qn('low_stock_threshold')}, {qn('low_stock_alerted_at')}"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        row = cur.fetchone()
    if row is None:
        if not Voucher.objects.filter(pk=voucher.pk, status=Voucher.Status.LISTED).exists():
            raise voucher_not_on_sale()
        raise DomainError("sold_out")
    left, threshold, alerted_at = row
    if left is not None and threshold and left <= threshold and alerted_at is None:
        low_stock_note(voucher_id=voucher.pk)
    return left


def voucher_return_unit(*, voucher_id: int, user_id: int, order_id: uuid.UUID) -> None:
    """Give one unit of an order back (cancel, expiry, refund). Must run inside the caller's
    transaction, which has already marked the order as released (Order.stock_released) under a row
    lock, so it runs once per order. Listeners (the flash-sale gate) hear of it after the commit."""
    Voucher.objects.filter(pk=voucher_id, stock__isnull=False).update(
        stock=F("stock") + 1, sold_count=F("sold_count") - 1
    )
    Voucher.objects.filter(pk=voucher_id, stock__isnull=True).update(sold_count=F("sold_count") - 1)
    announce_on_commit(unit_returned, voucher_id=voucher_id, user_id=user_id, order_id=order_id)


# --- alerts ---------------------------------------------------------------------------------------


def low_stock_note(*, voucher_id: int) -> bool:
    """Called in the purchase transaction after a unit was taken. The conditional UPDATE on
    `low_stock_alerted_at IS NULL` makes exactly one caller win per crossing; the winner schedules
    the notification after its commit. Returns True for the winner."""
    won = Voucher.objects.filter(
        pk=voucher_id,
        low_stock_alerted_at__isnull=True,
        low_stock_threshold__gt=0,
        stock__isnull=False,
        stock__lte=F("low_stock_threshold"),
    ).update(low_stock_alerted_at=timezone.now())
    if won:
        from .tasks import notify_low_stock

        transaction.on_commit(lambda: notify_low_stock.delay(voucher_id))
    return bool(won)


def low_stock_claimed(*, voucher_id: int) -> None:
    """The database gate's function claimed a low-stock crossing in its own statement (as
    `low_stock_note` does): the notification goes out after the commit."""
    from .tasks import notify_low_stock

    transaction.on_commit(lambda: notify_low_stock.delay(voucher_id))


def low_stock_scan() -> int:
    """Vouchers at or under their threshold without an alert (a missed notification): claim and
    notify each. Returns how many were notified."""
    candidates = Voucher.objects.filter(
        status=Voucher.Status.LISTED,
        low_stock_alerted_at__isnull=True,
        low_stock_threshold__gt=0,
        stock__isnull=False,
        stock__lte=F("low_stock_threshold"),
    ).values_list("pk", flat=True)
    count = 0
    for voucher_id in list(candidates):
        with transaction.atomic():
            if low_stock_note(voucher_id=voucher_id):
                count += 1
    return count


def low_stock_notify(*, voucher_id: int) -> Alert | None:
    # The voucher's row lock serialises two deliveries of the same task running at once (a broker
    # redelivery, two workers): the second sees the first's alert instead of raising another.
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update(of=("self",)).select_related("organization").get(pk=voucher_id)
        if voucher.low_stock_alerted_at is None:
            return None  # restocked before the notification ran
        since = voucher.low_stock_alerted_at
        if Alert.objects.filter(voucher=voucher, kind=Alert.Kind.LOW_STOCK, created_at__gte=since).exists():
            return None  # this crossing was notified already (a task delivered twice)
        return alert_raise(
            organization_id=voucher.organization_id,
            voucher_id=voucher.pk,
            kind=Alert.Kind.LOW_STOCK,
            message=(
                f"“{voucher.title}” is running low: {voucher.stock} left (threshold {voucher.low_stock_threshold})."
            ),
            details={"stock": voucher.stock, "threshold": voucher.low_stock_threshold},
        )


def alerts_acknowledge(*, alert_ids: list[int], user) -> int:
    """Mark alerts seen by `user` (those not acknowledged yet); returns how many."""
    return Alert.objects.filter(pk__in=alert_ids, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=user
    )


def operator_emails(organization_id: int) -> list[str]:
    return sorted(
        e
        for e in Operator.objects.filter(organization_id=organization_id)
        .exclude(Q(user__email="") | Q(user__email__isnull=True))
        .values_list("user__email", flat=True)
        if e
    )


def alert_raise(
    *, organization_id: int, voucher_id: int | None, kind: str, message: str, details: dict | None = None
) -> Alert:
    """An alert to an organization: a row in the admin's list, an email to its operators and a log
    line (WARNING; ERROR for an oversell)."""
    alert = Alert.objects.create(
        organization_id=organization_id, voucher_id=voucher_id, kind=kind, message=message, details=details or {}
    )
    level = logging.ERROR if kind == Alert.Kind.OVERSELL else logging.WARNING
    log.log(level, "alert kind=%s org=%s voucher=%s id=%s: %s", kind, organization_id, voucher_id, alert.pk, message)
    recipients = operator_emails(organization_id)

    def send():
        if recipients:
            send_mail(
                subject=f"[ParkMarket] {alert.get_kind_display()}",
                message=f"{message}\n\nDetails: {details or {}}\n",
                from_email=None,
                recipient_list=recipients,
                fail_silently=False,
            )

    transaction.on_commit(send)
    return alert


def on_money_mismatch(sender, *, report_id: int, organization_ids: list[int], **kwargs) -> None:
    """wallet's `money_mismatch_found`: an alert to each organization whose rows did not add up."""
    from wallet.models import MoneyReconciliationFinding

    for organization_id in organization_ids:
        count = MoneyReconciliationFinding.objects.filter(report_id=report_id, organization_id=organization_id).count()
        alert_raise(
            organization_id=organization_id,
            voucher_id=None,
            kind=Alert.Kind.MONEY_MISMATCH,
            message=f"The money reconciliation found {count} mismatch(es) in your organization's payments "
            f"(report {report_id}).",
            details={"report_id": report_id, "findings": count},
        )
