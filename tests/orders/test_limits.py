from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import DomainError
from orders.models import Order, PurchaseLimitRule
from seckill.purchase import voucher_purchase
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


def test_rules_are_read_from_the_cache_and_a_change_applies_at_once(django_assert_num_queries):
    from orders.limits import purchase_rules_check

    v = SeckillVoucherFactory()  # saving a voucher loads its organization's rules into the cache
    u = customer()
    with django_assert_num_queries(0):
        purchase_rules_check(voucher=v, user=u)
    rule = PurchaseLimitRule.objects.create(organization=v.organization, kind=K.MIN_ACCOUNT_AGE_DAYS, value=7)
    refused(u, v)
    rule.active = False
    rule.save()
    purchase_rules_check(voucher=v, user=u)
    rule.delete()
    purchase_rules_check(voucher=v, user=u)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "min_account_age_days", "value": 1_000_000, "window_days": 30},
        {"kind": "max_expired_orders_30d", "value": 1, "window_days": 1_000_000},
    ],
)
def test_a_rule_with_an_absurd_period_is_refused_in_the_admin(client, fields):
    """A period beyond any calendar (a typo) was stored and then broke every purchase with a 500."""
    from tests.factories import OperatorFactory

    v = SeckillVoucherFactory(stock=5)
    op = OperatorFactory(organization=v.organization)
    client.force_login(op.user)
    res = client.post("/admin/orders/purchaselimitrule/add/", {**fields, "applies_to": "seckill", "active": "on"})
    assert res.status_code == 200 and "errorlist" in res.content.decode()
    assert not PurchaseLimitRule.objects.exists()
    voucher_purchase(voucher_id=v.pk, user=customer(date_joined=timezone.now() - timedelta(days=400)))


def test_the_database_refuses_an_absurd_period_too():
    from django.db import IntegrityError, transaction

    org = OrganizationFactory()
    too_long = [
        {"kind": K.MIN_ACCOUNT_AGE_DAYS, "value": 1_000_000},
        {"kind": K.MAX_EXPIRED_ORDERS, "value": 1, "window_days": 1_000_000},
    ]
    for fields in too_long:
        with pytest.raises(IntegrityError), transaction.atomic():
            PurchaseLimitRule.objects.create(organization=org, **fields)
