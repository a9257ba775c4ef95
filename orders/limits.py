"""Purchase limits beyond per_user_limit: rules an organization sets that look at the customer's
history (account age, orders let expire, ...). Called by the purchase path before the gate."""

import logging
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from config.errors import DomainError
from coupons.models import Voucher

from .models import Order, PurchaseLimitRule

log = logging.getLogger("parkmarket.orders")


def _cache_key(organization_id: int) -> str:
    return f"orders:limit-rules:{organization_id}"


def rules_cache_warm(*, organization_id: int) -> list[dict]:
    """Load the organization's active rules into the cache (no expiry: a rule change clears them).
    Done when a voucher is saved, so the flash-sale path finds them without a database query."""
    rows = list(
        PurchaseLimitRule.objects.filter(organization_id=organization_id, active=True)
        .order_by("id")
        .values("id", "kind", "value", "window_days", "applies_to")
    )
    try:
        cache.set(_cache_key(organization_id), rows, None)
    except Exception:  # the cache is an optimisation: a failure must not break a write
        log.warning("limit rules cache unavailable for organization %s", organization_id, exc_info=True)
    return rows


def rules_cache_clear(*, organization_id: int) -> None:
    """A rule was saved or deleted: forget the organization's rules now and again after the commit
    (a reader that re-filled the cache during the transaction saw the old rules)."""
    key = _cache_key(organization_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def _active_rules(organization_id: int) -> list[PurchaseLimitRule]:
    """The organization's active rules, read through the cache: the flash-sale path asks on every
    purchase and most organizations have none, so the usual answer costs no database query."""
    rows = cache.get(_cache_key(organization_id))
    if rows is None:
        rows = rules_cache_warm(organization_id=organization_id)
    return [PurchaseLimitRule(organization_id=organization_id, active=True, **row) for row in rows]


def _applicable_rules(voucher: Voucher) -> list[PurchaseLimitRule]:
    scopes = {PurchaseLimitRule.AppliesTo.ALL}
    if voucher.kind == Voucher.Kind.SECKILL:
        scopes.add(PurchaseLimitRule.AppliesTo.SECKILL)
    return [rule for rule in _active_rules(voucher.organization_id) if rule.applies_to in scopes]


def purchase_rules_check(*, voucher: Voucher, user: AbstractBaseUser) -> None:
    """Raise DomainError("purchase_limit_reached", details={"rule": ..., "reason": ...}) when a rule
    of the voucher's organization refuses this customer.

    Expired orders are counted across the whole marketplace: a customer who lets coupons of any
    organization lapse holds stock others could have bought."""
    rules = _applicable_rules(voucher)
    if not rules:
        return
    now = timezone.now()
    for rule in rules:
        if rule.kind == PurchaseLimitRule.Kind.MIN_ACCOUNT_AGE_DAYS:
            joined = getattr(user, "date_joined", None)
            if joined is not None and joined > now - timedelta(days=rule.value):
                raise DomainError(
                    "purchase_limit_reached",
                    f"Accounts younger than {rule.value} days cannot buy this voucher yet.",
                    details={
                        "rule": rule.kind,
                        "reason": f"account younger than {rule.value} days",
                        "allowed_from": (joined + timedelta(days=rule.value)).isoformat(),
                    },
                )
        elif rule.kind == PurchaseLimitRule.Kind.MAX_EXPIRED_ORDERS:
            since = now - timedelta(days=rule.window_days)
            expired = Order.objects.filter(user_id=user.pk, status=Order.Status.EXPIRED, expires_at__gte=since).count()
            if expired > rule.value:
                raise DomainError(
                    "purchase_limit_reached",
                    f"You let {expired} orders expire in the last {rule.window_days} days.",
                    details={
                        "rule": rule.kind,
                        "reason": f"more than {rule.value} orders expired in the last {rule.window_days} days",
                        "expired_orders": expired,
                    },
                )
