"""Purchase limits beyond per_user_limit: rules an organization sets that look at the customer's
history (account age, orders let expire, ...). Called by the purchase path before the gate."""

from django.contrib.auth.models import AbstractBaseUser

from coupons.models import Voucher


def purchase_rules_check(*, voucher: Voucher, user: AbstractBaseUser) -> None:
    """Raise DomainError("purchase_limit_reached", details={"rule": ..., "reason": ...}) when a rule
    of the voucher's organization refuses this customer."""
    return None
