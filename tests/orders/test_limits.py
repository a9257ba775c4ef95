from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import DomainError
from orders.models import Order, PurchaseLimitRule
from seckill.services import voucher_purchase
from tests.factories import OrganizationFactory, SeckillVoucherFactory, VoucherFactory

from .helpers import customer, stock

pytestmark = pytest.mark.django_db

K = PurchaseLimitRule.Kind


def refused(user, voucher) -> DomainError:
    with pytest.raises(DomainError) as err:
        voucher_purchase(voucher_id=voucher.pk, user=user)
    assert err.value.code == "purchase_limit_reached"
    return err.value


def test_young_accounts_cannot_join_flash_sales():
    v = SeckillVoucherFactory(stock=5)
    PurchaseLimitRule.objects.create(organization=v.organization, kind=K.MIN_ACCOUNT_AGE_DAYS, value=7)
    young = customer()
    err = refused(young, v)
    assert err.details["rule"] == "min_account_age_days"
    assert "younger than 7 days" in err.details["reason"]
    assert stock(v) == 5
    old = customer(date_joined=timezone.now() - timedelta(days=8))
    assert voucher_purchase(voucher_id=v.pk, user=old).order.status == Order.Status.PENDING_PAYMENT


def test_a_seckill_only_rule_leaves_normal_vouchers_alone_and_an_all_rule_does_not():
    org = OrganizationFactory()
    normal = VoucherFactory(organization=org)
    rule = PurchaseLimitRule.objects.create(organization=org, kind=K.MIN_ACCOUNT_AGE_DAYS, value=3)
    u = customer()
    voucher_purchase(voucher_id=normal.pk, user=u)
    rule.applies_to = PurchaseLimitRule.AppliesTo.ALL
    rule.save()
    refused(customer(), VoucherFactory(organization=org))


def test_rules_of_another_organization_or_inactive_do_not_apply():
    v = SeckillVoucherFactory()
    PurchaseLimitRule.objects.create(organization=OrganizationFactory(), kind=K.MIN_ACCOUNT_AGE_DAYS, value=30)
    PurchaseLimitRule.objects.create(organization=v.organization, kind=K.MIN_ACCOUNT_AGE_DAYS, value=30, active=False)
    voucher_purchase(voucher_id=v.pk, user=customer())


def test_customers_who_let_orders_expire_sit_out_flash_sales():
    v = SeckillVoucherFactory(stock=10)
    PurchaseLimitRule.objects.create(organization=v.organization, kind=K.MAX_EXPIRED_ORDERS, value=1)
    u = customer()
    past = [VoucherFactory(stock=5) for _ in range(2)]
    now = timezone.now()
    for p in past:
        o = voucher_purchase(voucher_id=p.pk, user=u).order
        Order.objects.filter(pk=o.pk).update(status=Order.Status.EXPIRED, expires_at=now - timedelta(days=2))
    err = refused(u, v)
    assert err.details["rule"] == "max_expired_orders_30d" and err.details["expired_orders"] == 2
    # expiries older than the window are forgiven
    Order.objects.filter(user=u).update(expires_at=now - timedelta(days=31))
    voucher_purchase(voucher_id=v.pk, user=u)
