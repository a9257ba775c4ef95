"""Merchants: a quota bought from the merchant's wallet, coupons issued by plate applying themselves
at the car's exit (auto-pay or not) and on the pay page, claim links, and the refund of unused
coupons at the end of the period, once."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from config.errors import DomainError
from parking.models import MerchantIssue, MerchantQuota, ParkingPayment
from parking.services import merchants, payments, stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import UserFactory, WalletFactory
from wallet.models import LedgerEntry, Wallet

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_account(db):
    user = UserFactory()
    WalletFactory(user=user)
    fund(user, 10_000, key="shop-fund")
    return user


@pytest.fixture
def shop(lot, shop_account):
    return merchants.merchant_create(
        organization=lot.organization,
        name="Tea House",
        lots=[lot],
        account=shop_account,
        benefit_type="minutes",
        benefit_value=120,
        unit_price=300,
    )


def buy(shop, quantity=5, days=7):
    return merchants.quota_buy(
        merchant=shop,
        quantity=quantity,
        valid_from=timezone.now() - timedelta(minutes=1),
        valid_until=timezone.now() + timedelta(days=days),
    )


def ledger_matches(user):
    total = LedgerEntry.objects.filter(wallet__user=user).aggregate(s=Sum("amount"))["s"] or 0
    assert total == Wallet.objects.get(user=user).balance


def test_a_quota_is_paid_from_the_merchants_wallet(shop, shop_account):
    quota = buy(shop, quantity=5)
    assert balance(shop_account) == 10_000 - 1500
    assert quota.purchase_entry.kind == "merchant_quota" and quota.purchase_entry.amount == -1500
    assert (quota.benefit_type, quota.benefit_value, quota.quantity) == ("minutes", 120, 5)
    ledger_matches(shop_account)


def test_a_short_wallet_buys_nothing(shop, shop_account):
    with pytest.raises(DomainError) as exc:
        buy(shop, quantity=50)  # 15000 > 10000
    assert exc.value.code == "insufficient_funds"
    assert not MerchantQuota.objects.exists() and balance(shop_account) == 10_000


def test_a_quota_is_never_overspent(shop):
    quota = buy(shop, quantity=2)
    for plate in ("粤B00001", "粤B00002"):
        merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate=plate, user=None)
    with pytest.raises(DomainError) as exc:
        merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B00003", user=None)
    assert exc.value.code == "sold_out" and exc.value.details == {"quota": "used_up"}
    quota.refresh_from_db()
    assert quota.issued == 2 and MerchantIssue.objects.count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        MerchantQuota.objects.filter(pk=quota.pk).update(issued=3)


def test_another_merchants_quota_is_404(shop, lot):
    other_account = UserFactory()
    WalletFactory(user=other_account)
    other = merchants.merchant_create(
        organization=lot.organization,
        name="Bakery",
        lots=[lot],
        account=other_account,
        benefit_type="amount",
        benefit_value=500,
        unit_price=0,
    )
    quota = buy(shop)
    with pytest.raises(DomainError) as exc:
        merchants.issue_to_plate(merchant=other, quota_id=quota.pk, plate="粤B00001", user=None)
    assert exc.value.code == "not_found"


def test_a_coupon_by_plate_pays_an_unregistered_cars_exit(shop, lot):
    quota = buy(shop)
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    result = stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))
    assert result.barrier == "open" and result.due == 0
    payment = ParkingPayment.objects.get(session=result.session)
    assert (payment.fee, payment.discount, payment.amount, payment.method) == (900, 900, 0, "coupon")
    issue = MerchantIssue.objects.get()
    assert issue.status == "used" and issue.payment == payment
    quota.refresh_from_db()
    assert quota.redeemed == 1


def test_a_partly_covering_coupon_goes_with_auto_pay(shop, lot, customer):
    """200 minutes cost 1500; 120 minutes off leaves 80 minutes (700): 800 off, 700 from the wallet."""
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    quota = buy(shop)
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(201))
    result = stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))
    assert result.barrier == "open"
    payment = ParkingPayment.objects.get(session=result.session)
    assert (payment.fee, payment.discount, payment.amount, payment.method) == (1500, 800, 700, "auto")
    assert balance(customer) == 4300 and MerchantIssue.objects.get().status == "used"


def test_a_partly_covering_coupon_without_auto_pay_waits_for_the_pay_page(shop, lot, customer):
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=False)
    quota = buy(shop)
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(201))
    result = stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))
    assert result.barrier == "pay_required" and MerchantIssue.objects.get().status == "issued"
    quota.refresh_from_db()
    assert quota.redeemed == 0  # counted nothing: the attempt was rolled back
    paid = payments.payment_pay(payment_id=result.payment.pk, user=customer)
    assert (paid.discount, paid.amount) == (800, 700) and MerchantIssue.objects.get().status == "used"


def test_a_coupon_applies_only_at_the_merchants_lots(shop, operator):
    other_lot = stays.lot_create(organization=operator.organization, name="Elsewhere", capacity=5, tariff=TariffRule())
    quota = buy(shop)
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    stays.session_enter(lot=other_lot, plate="粤B12345", at=ago(100))
    assert stays.session_exit(lot=other_lot, plate="粤B12345", at=ago(1)).barrier == "pay_required"
    assert MerchantIssue.objects.get().status == "issued"


def test_a_claim_link(shop, lot, customer):
    quota = buy(shop)
    issue = merchants.issue_claim_link(merchant=shop, quota_id=quota.pk, user=None)
    assert issue.claim_token and issue.plate == ""
    with pytest.raises(DomainError) as exc:  # a car the driver has not registered
        merchants.issue_claim(token=issue.claim_token, user=customer, plate="粤B12345")
    assert exc.value.code == "validation_error"
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    claimed = merchants.issue_claim(token=issue.claim_token, user=customer, plate="粤B12345")
    assert claimed.plate == "粤B12345" and claimed.claimed_by == customer
    with pytest.raises(DomainError) as exc:  # a link works once
        merchants.issue_claim(token=issue.claim_token, user=customer, plate="粤B12345")
    assert exc.value.code == "not_found"
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    assert stays.session_exit(lot=lot, plate="粤B12345", at=ago(1)).barrier == "open"


def test_unused_coupons_are_refunded_once_at_the_period_end(shop, shop_account, lot):
    quota = buy(shop, quantity=5)  # 1500 paid
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B54321", user=None)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))  # one redeemed
    assert merchants.quota_refund(quota_id=quota.pk) == 0  # not over yet
    MerchantQuota.objects.filter(pk=quota.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    assert merchants.quotas_refund_due() == 1
    assert merchants.quotas_refund_due() == 0
    assert merchants.quota_refund(quota_id=quota.pk) == 0
    quota.refresh_from_db()
    assert quota.refund_amount == 4 * 300 and quota.refund_entry.kind == "merchant_refund"
    assert balance(shop_account) == 10_000 - 1500 + 1200
    assert LedgerEntry.objects.filter(wallet__user=shop_account, kind="merchant_refund").count() == 1
    assert MerchantIssue.objects.get(plate="粤B54321").status == "expired"
    ledger_matches(shop_account)
    # an expired coupon no longer applies
    stays.session_enter(lot=lot, plate="粤B54321", at=ago(100))
    assert stays.session_exit(lot=lot, plate="粤B54321", at=ago(1)).barrier == "pay_required"


def test_the_refund_task_is_idempotent(shop, shop_account):
    from parking import tasks

    quota = buy(shop, quantity=2)
    MerchantQuota.objects.filter(pk=quota.pk).update(valid_until=timezone.now() - timedelta(seconds=1))
    tasks.refund_merchant_quotas()
    tasks.refund_merchant_quotas()
    assert balance(shop_account) == 10_000
    assert LedgerEntry.objects.filter(wallet__user=shop_account, kind="merchant_refund").count() == 1


def test_a_coupon_that_would_save_nothing_is_kept(shop, lot, customer):
    """A 20-hour stay costs the day's cap (3000) with or without 120 minutes off: the shop's coupon
    saves nothing there, so it is not spent (the merchant gets it back at the refund)."""
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    quota = buy(shop)
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(1201))
    result = stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))
    assert result.barrier == "open"
    payment = ParkingPayment.objects.get(session=result.session)
    assert (payment.fee, payment.discount, payment.amount) == (3000, 0, 3000)
    assert MerchantIssue.objects.get().status == "issued" and MerchantIssue.objects.get().payment is None
    quota.refresh_from_db()
    assert quota.redeemed == 0
