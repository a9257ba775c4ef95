"""Merchants: registering one, buying a quota of parking coupons from the merchant's wallet,
issuing them to drivers (by plate, or as a claim link), taking an issued coupon at a fee payment,
and refunding a quota's unredeemed coupons at the end of its period, once.

A quota's `issued` moves by a conditional UPDATE (`issued < quantity`) guarded by a
CheckConstraint, so parallel issuing never overspends it; `redeemed` moves the same way and is
refused once the quota is refunded, so a redemption racing the refund is counted by one of them
only (both lock the quota row)."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from config.errors import DomainError
from config.ids import is_id

from ..models import Lot, Merchant, MerchantIssue, MerchantMember, MerchantQuota, ParkingSession
from ..plates import clean_plate
from ..selectors import not_found

I = MerchantIssue.Status  # noqa: E741 - the issue's statuses


def merchant_create(
    *,
    organization: Organization,
    name: str,
    lots: list[Lot],
    account: AbstractBaseUser,
    benefit_type: str,
    benefit_value: int,
    unit_price: int,
) -> Merchant:
    """Register a merchant of `organization` at some of its lots; `account` logs in for it."""
    if not lots or any(lot.organization_id != organization.pk for lot in lots):
        raise DomainError("validation_error", details={"lots": [_("Only your organization's lots can be covered.")]})
    if Merchant.objects.filter(account=account).exists():
        raise DomainError("validation_error", details={"account": [_("This user already runs a merchant.")]})
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(
                organization=organization,
                name=name,
                account=account,
                benefit_type=benefit_type,
                benefit_value=benefit_value,
                unit_price=unit_price,
            )
            merchant.lots.set(lots)
    except IntegrityError as exc:
        raise DomainError("validation_error", details={"name": [_("A merchant of this name exists.")]}) from exc
    return merchant


def merchant_register(
    *,
    organization: Organization,
    name: str,
    lots: list[Lot],
    username: str,
    password: str,
    benefit_type: str,
    benefit_value: int,
    unit_price: int,
) -> Merchant:
    """An organization registers a merchant together with the user it logs in with (a wallet
    comes with it, as for every customer): both or neither."""
    from accounts.services import customer_register

    with transaction.atomic():
        account, _token = customer_register(username=username, password=password)
        return merchant_create(
            organization=organization,
            name=name,
            lots=lots,
            account=account,
            benefit_type=benefit_type,
            benefit_value=benefit_value,
            unit_price=unit_price,
        )


def merchant_member_add(*, merchant: Merchant, username: str, password: str, role: str) -> MerchantMember:
    """A staff user for the merchant (a manager buys and issues, a clerk issues)."""
    from accounts.services import customer_register

    with transaction.atomic():
        user, _token = customer_register(username=username, password=password)
        return MerchantMember.objects.create(merchant=merchant, user=user, role=role)


def merchant_member_remove(*, merchant: Merchant, member_id) -> None:
    """Take a staff user off the merchant: from now on the user is a plain customer again (its
    coupons issued stay issued). Another merchant's member, or an unknown id, is 404."""
    member = MerchantMember.objects.filter(pk=member_id, merchant=merchant).first() if is_id(member_id) else None
    if member is None:
        raise not_found("staff member")
    member.delete()


def quota_buy(*, merchant: Merchant, quantity: int, valid_from: datetime, valid_until: datetime) -> MerchantQuota:
    """Buy `quantity` coupons of the merchant's benefit, paid now from its wallet (ledger kind
    `merchant_quota`, key `merchant_quota:<id>`): the quota and the debit exist together or not at
    all. A short wallet is 409 `insufficient_funds`."""
    from wallet.services import wallet_debit

    if not merchant.active:
        raise DomainError("invalid_state", _("This merchant is suspended."))
    if valid_until <= valid_from or valid_until <= timezone.now():
        raise DomainError(
            "validation_error", details={"valid_until": [_("Must be in the future and after valid_from.")]}
        )
    with transaction.atomic():
        quota = MerchantQuota.objects.create(
            merchant=merchant,
            benefit_type=merchant.benefit_type,
            benefit_value=merchant.benefit_value,
            quantity=quantity,
            unit_price=merchant.unit_price,
            valid_from=valid_from,
            valid_until=valid_until,
        )
        if quota.price > 0:
            quota.purchase_entry = wallet_debit(
                user_id=merchant.account_id,
                amount=quota.price,
                kind="merchant_quota",
                idempotency_key=f"merchant_quota:{quota.pk}",
                reference=f"merchant_quota:{quota.pk}",
                memo=f"{quantity} parking coupons",
            )
            quota.save(update_fields=["purchase_entry"])
    return quota


def _take_one(merchant: Merchant, quota_id) -> MerchantQuota:
    """Count one more coupon out of the merchant's quota (conditional UPDATE), or say why not."""
    quota = MerchantQuota.objects.filter(pk=quota_id, merchant=merchant).first() if str(quota_id).isdigit() else None
    if quota is None:
        raise not_found("quota")
    now = timezone.now()
    moved = MerchantQuota.objects.filter(
        pk=quota.pk, issued__lt=F("quantity"), valid_from__lte=now, valid_until__gt=now, refunded_at__isnull=True
    ).update(issued=F("issued") + 1)
    if not moved:
        if quota.refunded_at is not None or quota.valid_until <= now or quota.valid_from > now:
            raise DomainError(
                "invalid_state", _("This quota is not in its validity period."), details={"quota": "expired"}
            )
        raise DomainError("sold_out", _("This quota is used up."), details={"quota": "used_up"})
    return quota


def issue_to_plate(*, merchant: Merchant, quota_id, plate: str, user: AbstractBaseUser | None) -> MerchantIssue:
    """Give a driver one coupon by plate: it applies itself at the car's next payment at one of
    the merchant's lots (its exit's auto-pay, or the pay page)."""
    plate = clean_plate(plate)
    with transaction.atomic():
        quota = _take_one(merchant, quota_id)
        return MerchantIssue.objects.create(quota=quota, plate=plate, issued_by=user)


def issue_claim_link(*, merchant: Merchant, quota_id, user: AbstractBaseUser | None) -> MerchantIssue:
    """One coupon as a claim link: the driver opens it and names a plate."""
    with transaction.atomic():
        quota = _take_one(merchant, quota_id)
        return MerchantIssue.objects.create(quota=quota, claim_token=secrets.token_urlsafe(32), issued_by=user)


def issue_claim(*, token: str, user: AbstractBaseUser, plate: str) -> MerchantIssue:
    """A driver claims a link's coupon for one of their cars. A claimed or unknown link is 404."""
    plate = clean_plate(plate)
    if not user.vehicles.filter(plate=plate).exists():
        raise DomainError("validation_error", details={"plate": [_("Register this car first.")]})
    with transaction.atomic():
        issue = (
            MerchantIssue.objects.select_for_update()
            .filter(claim_token=token, plate="", status=I.ISSUED)
            .select_related("quota")
            .first()
        )
        if issue is None:
            raise not_found("coupon link")
        if issue.quota.valid_until <= timezone.now() or issue.quota.refunded_at is not None:
            raise DomainError("invalid_state", _("This coupon has expired."))
        issue.plate, issue.claimed_by = plate, user
        issue.save(update_fields=["plate", "claimed_by"])
    return issue


def issue_find(*, session: ParkingSession, at: datetime) -> MerchantIssue | None:
    """The oldest-expiring coupon issued to this car for this lot, locked (a coupon another
    payment is taking right now is skipped). Inside the fee payment's transaction."""
    return (
        MerchantIssue.objects.select_for_update(of=("self",), skip_locked=True)
        .filter(
            plate=session.plate,
            status=I.ISSUED,
            quota__merchant__lots=session.lot_id,
            quota__merchant__active=True,
            quota__valid_from__lte=at,
            quota__valid_until__gt=at,
            quota__refunded_at__isnull=True,
        )
        .select_related("quota")
        .order_by("quota__valid_until", "id")
        .first()
    )


def issue_redeem(issue: MerchantIssue, *, payment, at: datetime) -> bool:
    """Count `issue` as redeemed in its quota (refused once the quota is refunded or over) and
    mark it used with `payment`. Inside the fee payment's transaction; False when refused."""
    counted = MerchantQuota.objects.filter(
        pk=issue.quota_id, redeemed__lt=F("issued"), refunded_at__isnull=True, valid_until__gt=at
    ).update(redeemed=F("redeemed") + 1)
    if not counted:
        return False
    issue.status, issue.payment, issue.used_at = I.USED, payment, timezone.now()
    issue.save(update_fields=["status", "payment", "used_at"])
    return True


def quota_refund(*, quota_id: int) -> int:
    """At the end of its period, credit the merchant's wallet for the quota's unredeemed coupons
    (ledger kind `merchant_refund`, key `merchant_quota_refund:<id>`), then expire its unused
    issues. Once: a second run (or a racing one) finds `refunded_at` set and credits nothing.
    Returns the amount credited by this call.

    A redemption racing the refund locks the issue, then moves the quota's `redeemed` (refused
    once `refunded_at` is set); so the refund locks the quota alone and expires the issues in a
    transaction of their own afterwards, never holding the quota while waiting for an issue."""
    from wallet.services import wallet_credit

    amount = 0
    with transaction.atomic():
        quota = MerchantQuota.objects.select_for_update().select_related("merchant").filter(pk=quota_id).first()
        if quota is None or quota.valid_until > timezone.now():
            return 0
        if quota.refunded_at is None:
            amount = (quota.quantity - quota.redeemed) * quota.unit_price
            if amount > 0:
                quota.refund_entry = wallet_credit(
                    user_id=quota.merchant.account_id,
                    amount=amount,
                    kind="merchant_refund",
                    idempotency_key=f"merchant_quota_refund:{quota.pk}",
                    reference=f"merchant_quota:{quota.pk}",
                    memo=f"{quota.quantity - quota.redeemed} unused parking coupons",
                )
            quota.refunded_at, quota.refund_amount = timezone.now(), amount
            quota.save(update_fields=["refunded_at", "refund_amount", "refund_entry"])
    # Issues nobody redeemed (a run that stopped before this line is finished by the next one).
    MerchantIssue.objects.filter(quota_id=quota_id, status=I.ISSUED).update(status=I.EXPIRED)
    return amount


def quotas_refund_due(*, limit: int = 500) -> int:
    """Refund every quota whose period ended and that is not refunded yet, and finish the expiry
    of their issues (the periodic task). Returns how many quotas it looked at."""
    # Quotas over and not refunded, and refunded ones whose issues were not expired yet.
    due = (
        MerchantQuota.objects.filter(valid_until__lte=timezone.now())
        .filter(Q(refunded_at__isnull=True) | Q(issues__status=I.ISSUED))
        .distinct()
        .order_by("id")
    )
    quota_ids = list(due.values_list("id", flat=True)[:limit])
    for quota_id in quota_ids:
        quota_refund(quota_id=quota_id)
    return len(quota_ids)
