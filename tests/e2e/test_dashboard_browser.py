"""The admin's home is the operators' dashboard: revenue tiles and the 30-day chart (inline SVG,
served by the product), live flash sales and occupancy that update without a reload."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from coupons.services import voucher_publish
from orders.models import Order
from parking.services import stays
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, OrderFactory, SeckillVoucherFactory, VoucherFactory
from tests.orders.helpers import buy, customer

from .conftest import shot, use_language
from .test_admin_money_browser import admin_login, no_horizontal_overflow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dashboard_shows_revenue_and_follows_the_sale_live(sized_page):
    page = sized_page
    op = OperatorFactory(user__username="dashboss")
    org = op.organization
    lot = stays.lot_create(organization=org, name="Harbour", capacity=40, tariff=TariffRule())
    OrderFactory(
        voucher=VoucherFactory(organization=org), amount=1500, status=Order.Status.PAID, paid_at=timezone.now()
    )
    sale = SeckillVoucherFactory(organization=org, lot=lot, title="Lunch rush: 1 hour", stock=20, status="draft")
    voucher_publish(voucher_id=sale.pk)

    admin_login(page, "dashboss")
    page.goto(page.base_url + "/admin/")
    page.wait_for_selector("[data-testid=dashboard]")
    assert "¥15.00" in page.inner_text("[data-testid=revenue-today]")
    assert page.locator("[data-testid=revenue-chart] rect").count() == 60
    row = page.locator(f"[data-sale='{sale.pk}']")
    assert row.locator("[data-field=left]").inner_text() == "20"
    if page.size == "desktop":
        assert no_horizontal_overflow(page)

    buy(customer(), sale)
    stays.session_enter(lot=lot, plate="粤B12345", at=timezone.now())
    expect(row.locator("[data-field=left]")).to_have_text("19")  # polled, no reload
    expect(page.locator(f"[data-lot='{lot.pk}'] [data-field=occupancy]")).to_have_text("1 / 40")
    assert row.locator("[data-field=sold]").inner_text() == "1"
    shot(page, f"admin-dashboard-{page.size}")

    use_language(page, "zh-hans")
    page.goto(page.base_url + "/admin/")
    page.wait_for_selector("[data-testid=dashboard]")
    assert "今天" in page.inner_text("[data-testid=revenue-today]")
    shot(page, f"admin-dashboard-zh-{page.size}")
