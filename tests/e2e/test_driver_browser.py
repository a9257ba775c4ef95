"""A driver's pages at desktop and phone size: voucher cards (face value, claimed bar, countdown),
the coupon wallet (valid, used, expired), and paying an order with the shortfall topped up."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orders.models import Order
from tests.factories import OrderFactory, SeckillVoucherFactory, UserFactory, VoucherFactory
from tests.orders.helpers import balance, buy
from wallet.services import wallet_credit

from .conftest import login, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_voucher_cards_count_down(sized_page):
    page = sized_page
    SeckillVoucherFactory(
        title="Evening flash", stock=12, initial_stock=40, ends_at=timezone.now() + timedelta(hours=3)
    )
    VoucherFactory(title="Weekend pass", stock=None, initial_stock=None, benefit_type="minutes", benefit_value=120)
    page.goto(page.base_url + "/vouchers/")
    card = page.locator("[data-testid=voucher-card]").filter(has_text="Evening flash")
    assert "70% claimed · 12 left" in card.inner_text()
    countdown = card.locator("[data-testid=card-countdown]")
    expect(countdown).to_contain_text("Ends in 02:")
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first)  # it ticks
    shot(page, f"driver-voucher-cards-{page.size}")


def test_coupon_wallet_and_one_step_top_up(sized_page):
    page = sized_page
    user = UserFactory(username="walletdriver")
    wallet_credit(user_id=user.pk, amount=200, kind="topup", idempotency_key="seed")
    now = timezone.now()
    OrderFactory(
        user=user,
        voucher=VoucherFactory(title="Three off downtown", benefit_value=300, valid_days=30),
        status=Order.Status.PAID,
        paid_at=now,
    )
    OrderFactory(
        user=user, voucher=VoucherFactory(title="Used hour"), status=Order.Status.USED, paid_at=now, used_at=now
    )
    OrderFactory(
        user=user,
        voucher=VoucherFactory(title="Lapsed pass", valid_days=1),
        status=Order.Status.PAID,
        paid_at=now - timedelta(days=3),
    )
    order = buy(user, VoucherFactory(title="Night pass", price=1000))
    login(page, "walletdriver", "s3cure-pass-word")

    page.click("[data-testid=nav-coupons]")
    coupons = page.locator("[data-testid=coupon]")
    assert coupons.count() == 1 and "¥3.00 off your parking fee" in coupons.first.inner_text()
    assert "Valid until" in coupons.first.inner_text()
    shot(page, f"driver-coupons-valid-{page.size}")
    page.click("[data-testid=tab-expired]")
    assert "Lapsed pass" in page.inner_text("[data-testid=coupons]")
    shot(page, f"driver-coupons-expired-{page.size}")
    page.click("[data-testid=tab-used]")
    assert "Used hour" in page.inner_text("[data-testid=coupons]")

    page.click("[data-testid=nav-orders]")
    card = page.locator(f"[data-order='{order.pk}']")
    button = card.locator("[data-testid=topup-pay]")
    assert "Top up ¥8.00 and pay" in button.inner_text()
    shot(page, f"driver-topup-pay-{page.size}")
    button.click()
    page.wait_for_selector("text=Topped up and paid.")
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert balance(user) == 0
