"""Purchase limits beyond per_user_limit: rules an organization sets that look at the customer's
history (account age, orders let expire, ...). Called by the purchase path before the gate."""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from config.errors import DomainError
from coupons.models import Voucher

from .models import Order, PurchaseLimitRule


def _applicable_rules(voucher: Voucher) -> list[PurchaseLimitRule]:
    scopes = [PurchaseLimitRule.AppliesTo.ALL]
    if voucher.kind == Voucher.Kind.SECKILL:
        scopes.append(PurchaseLimitRule.AppliesTo.SECKILL)
    return list(
        PurchaseLimitRule.objects.filter(
            organization_id=voucher.organization_id, active=True, applies_to__in=scopes
        ).order_by("id")
    )


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
