"""Purchase limits beyond per_user_limit: rules an organization sets that look at the customer's
history (account age, orders let expire, ...). Called by the purchase path before the gate."""

import time
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from config.errors import DomainError
from coupons.models import Voucher

from .models import Order, PurchaseLimitRule

# The organization's active rules, remembered per process for RULES_MEMO_SECONDS: the flash-sale
# path asks on every purchase and most organizations have none, so the usual answer costs no query
# (and no Redis round trip). A rule change applies at once in the process that saved it and within
# RULES_MEMO_SECONDS everywhere else.
RULES_MEMO_SECONDS = 30.0
_memo: dict[int, tuple[float, list[dict]]] = {}


def rules_cache_warm(*, organization_id: int) -> list[dict]:
    """Load the organization's active rules into the memo. Done when a voucher is saved too, so the
    first purchase finds them without a database query."""
    rows = list(
        PurchaseLimitRule.objects.filter(organization_id=organization_id, active=True)
        .order_by("id")
        .values("id", "kind", "value", "window_days", "applies_to")
    )
    _memo[organization_id] = (time.monotonic() + RULES_MEMO_SECONDS, rows)
    return rows


def rules_cache_clear(*, organization_id: int | None = None) -> None:
    """A rule was saved or deleted: forget the organization's rules (all of them when None)."""
    if organization_id is None:
        _memo.clear()
    else:
        _memo.pop(organization_id, None)


def _active_rules(organization_id: int) -> list[PurchaseLimitRule]:
    hit = _memo.get(organization_id)
    rows = hit[1] if hit is not None and hit[0] > time.monotonic() else None
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
