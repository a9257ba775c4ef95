"""The driver's coupon wallet: valid / used / expired coupons (orders.selectors.coupons_of_customer),
a coupon past its validity refused at use, and paying an order with the shortfall topped up in one
step, once however often the form is sent (orders.services.order_pay_topping_up)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import DomainError
from orders.models import Order
from orders.selectors import coupons_of_customer
from orders.services import order_pay_topping_up, order_use
from tests.factories import OrderFactory, VoucherFactory
from wallet.models import TopUp

from .helpers import assert_ledger_matches_balances, balance, buy, customer

pytestmark = pytest.mark.django_db


def _coupon(user, *, valid_days=None, paid_days_ago=0, status=Order.Status.PAID, **voucher):
    paid_at = timezone.now() - timedelta(days=paid_days_ago)
    return OrderFactory(
        user=user,
        voucher=VoucherFactory(valid_days=valid_days, **voucher),
        status=status,
        paid_at=paid_at,
        used_at=paid_at if status == Order.Status.USED else None,
    )


def test_coupons_split_into_valid_used_and_expired():
    user = customer()
    forever = _coupon(user)
    soon = _coupon(user, valid_days=10, paid_days_ago=9)
    lapsed = _coupon(user, valid_days=7, paid_days_ago=8)
    used = _coupon(user, status=Order.Status.USED)
    OrderFactory(user=user)  # unpaid: an order, not a coupon
    groups = coupons_of_customer(user=user)
    assert [o.pk for o in groups["valid"]] == [soon.pk, forever.pk]  # ending soonest first
    assert [o.pk for o in groups["expired"]] == [lapsed.pk]
    assert [o.pk for o in groups["used"]] == [used.pk]


def test_an_expired_coupon_is_refused_at_use():
    user = customer()
    lapsed = _coupon(user, valid_days=1, paid_days_ago=2)
    with pytest.raises(DomainError) as err:
        order_use(
            order_id=lapsed.pk, user=user, organization_id=lapsed.organization_id, lot_id=None, reason="parking fee"
        )
    assert err.value.details["coupon"] == "expired"
    assert Order.objects.get(pk=lapsed.pk).status == Order.Status.PAID


def test_my_coupons_page_says_what_each_takes_off_and_until_when(client):
    user = customer()
    _coupon(user, valid_days=30, benefit_type="amount", benefit_value=300, title="Three off")
    _coupon(user, benefit_type="minutes", benefit_value=60, title="Free hour")
    _coupon(user, valid_days=1, paid_days_ago=3, title="Old one")
    client.force_login(user)
    html = client.get("/coupons/mine/").content.decode()
    assert html.count('data-testid="coupon"') == 2
    assert "¥3.00 off your parking fee" in html and "60 minutes of parking free" in html
    assert "Valid until " in html and "Valid until used" in html and "Old one" not in html
    expired = client.get("/coupons/mine/?show=expired").content.decode()
    assert "Old one" in expired and "Expired " in expired


def test_paying_with_a_short_wallet_tops_up_the_shortfall_once():
    user = customer(balance=300)
    order = buy(user, VoucherFactory(price=1250))
    paid = order_pay_topping_up(order_id=order.pk, user=user, reference="pay:abc")
    assert paid.status == Order.Status.PAID and balance(user) == 0
    assert list(TopUp.objects.filter(user=user).values_list("amount", flat=True)) == [950]
    again = order_pay_topping_up(order_id=order.pk, user=user, reference="pay:abc")  # the form sent twice
    assert again.status == Order.Status.PAID and TopUp.objects.filter(user=user).count() == 1
    assert balance(user) == 0
    assert_ledger_matches_balances()


def test_a_full_wallet_pays_without_a_top_up():
    user = customer(balance=2000)
    order = buy(user, VoucherFactory(price=1250))
    order_pay_topping_up(order_id=order.pk, user=user, reference="pay:x")
    assert balance(user) == 750 and not TopUp.objects.filter(user=user).exists()


def test_the_orders_page_offers_the_top_up_for_a_short_wallet(client):
    user = customer(balance=300)
    order = buy(user, VoucherFactory(price=1250))
    client.force_login(user)
    html = client.get("/orders/").content.decode()
    assert "Top up ¥9.50 and pay" in html
    import re

    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    for _ in range(2):
        client.post(f"/orders/{order.pk}/top-up-and-pay/", {"token": token})
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert TopUp.objects.filter(user=user).count() == 1 and balance(user) == 0
    assert client.post(f"/orders/{order.pk}/top-up-and-pay/", {"token": "nope"}).status_code == 302
