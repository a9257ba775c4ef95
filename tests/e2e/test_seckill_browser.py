"""A customer buys a flash-sale voucher through the page: countdown, live stock, the outcome in
plain words, the link to the orders page. Runs on the Redis gate (the test settings' default)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from tests.factories import SeckillVoucherFactory, UserFactory

from .conftest import login, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_customer_buys_a_flash_sale_voucher_through_the_page(page, settings):
    settings.SECKILL_GATE = "redis"
    # The sale starts far ahead, so the page is seen counting down however slow the machine is;
    # it is opened once that has been seen (no lead time to race).
    voucher = SeckillVoucherFactory(
        title="Flash: 2 hours free",
        stock=5,
        begins_at=timezone.now() + timedelta(hours=1),
        ends_at=timezone.now() + timedelta(hours=3),
    )
    UserFactory(username="racer")
    login(page, "racer", "s3cure-pass-word")

    page.goto(page.base_url + "/vouchers/")
    page.click(f"[data-testid=voucher-link-{voucher.pk}]")
    page.wait_for_selector("[data-testid=countdown]:has-text('Starts in')")
    assert page.locator("[data-testid=buy]").is_disabled()
    assert page.locator("[data-testid=stock]").inner_text() == "5"
    shot(page, "seckill-countdown")

    # The operator opens the sale now: the page follows on its next poll and the button opens,
    # without a reload.
    from coupons.services import voucher_update

    voucher_update(voucher_id=voucher.pk, data={"begins_at": timezone.now()})
    page.wait_for_selector("[data-testid=buy]:not([disabled])")
    page.wait_for_selector("[data-testid=countdown]:has-text('Ends in')")
    page.click("[data-testid=buy]")
    # "You got one!" (202) is replaced by "Confirmed!" as soon as the page sees the order written,
    # which with an eager intake can be before the first check: either is the accepted outcome.
    page.wait_for_selector("[data-testid=outcome]:text-matches('You got one|Confirmed!')")
    assert page.locator("[data-testid=orders-link] a").get_attribute("href") == "/orders/"
    order = Order.objects.get(voucher=voucher, user__username="racer")
    assert order.status == Order.Status.PENDING_PAYMENT and order.accepted_by == "redis"

    # Remaining stock follows without a reload, including other customers' purchases.
    page.wait_for_selector("[data-testid=stock]:has-text('4')")
    from seckill.purchase import voucher_purchase

    voucher_purchase(voucher_id=voucher.pk, user=UserFactory())
    page.wait_for_selector("[data-testid=stock]:has-text('3')", timeout=5_000)

    # No second click: the button says the voucher is bought (the per-customer limit is 1).
    button = page.locator("[data-testid=buy]")
    assert button.inner_text() == "Bought" and button.is_disabled()
    shot(page, "seckill-bought")


def test_sold_out_page_says_so(page, settings):
    voucher = SeckillVoucherFactory(title="Gone", stock=0)
    UserFactory(username="late")
    login(page, "late", "s3cure-pass-word")
    page.goto(page.base_url + f"/vouchers/{voucher.pk}/")
    page.wait_for_selector("[data-testid=sale-status]:has-text('Sold out')")
    assert page.locator("[data-testid=buy]").is_disabled()
