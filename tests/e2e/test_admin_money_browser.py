"""The operators' admin in a browser: money shown and typed in yuan (both languages), lists that fit
1280 px, restock from the admin, the refunds view, a tariff mistake explained in words."""

import pytest

from coupons.models import Voucher
from coupons.services import voucher_publish
from orders.services import order_pay, order_refund
from parking.services import stays
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, SeckillVoucherFactory, VoucherFactory
from tests.orders.helpers import buy, customer

from .conftest import shot, use_language

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def admin_login(page, username: str) -> None:
    page.goto(page.base_url + "/admin/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "s3cure-pass-word")
    page.click("input[type=submit]")
    page.wait_for_selector("#content")


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_vouchers_in_yuan_fit_1280_and_restock(sized_page):
    page = sized_page
    op = OperatorFactory(user__username="moneyboss")
    lot = stays.lot_create(organization=op.organization, name="Harbour", capacity=40, tariff=TariffRule())
    sale = SeckillVoucherFactory(
        organization=op.organization, lot=lot, title="Friday flash: 2 hours", price=990, stock=5, status="draft"
    )
    voucher_publish(voucher_id=sale.pk)
    VoucherFactory(organization=op.organization, lot=lot, title="Monthly evening pass, every weekday", price=12800)
    admin_login(page, "moneyboss")

    page.goto(page.base_url + "/admin/coupons/voucher/")
    text = page.inner_text("#result_list")
    assert "¥9.90" in text and "¥128.00" in text
    if page.size == "desktop":
        assert no_horizontal_overflow(page)
    shot(page, f"admin-vouchers-yuan-{page.size}")

    page.goto(page.base_url + f"/admin/coupons/voucher/{sale.pk}/change/")
    assert page.input_value("input[name=price]") == "9.90"
    page.fill("input[name=price]", "12.5")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert Voucher.objects.get(pk=sale.pk).price == 1250

    page.goto(page.base_url + "/admin/coupons/voucher/")
    page.check(f"input[name=_selected_action][value='{sale.pk}']")
    page.select_option("select[name=action]", "restock")
    page.click("button[name=index]")
    page.fill("input[name=quantity]", "20")
    shot(page, f"admin-restock-{page.size}")
    page.click("[data-testid=restock-form] input[type=submit]")
    page.wait_for_selector(".messagelist .success")
    assert "25 left" in page.inner_text(".messagelist")
    assert Voucher.objects.get(pk=sale.pk).stock == 25

    use_language(page, "zh-hans")
    page.goto(page.base_url + "/admin/coupons/voucher/")
    assert "¥12.50" in page.inner_text("#result_list") and "销售时间" in page.inner_text("#result_list")
    shot(page, f"admin-vouchers-yuan-zh-{page.size}")


def test_tariff_typed_in_yuan_and_a_mistake_explained(sized_page):
    page = sized_page
    op = OperatorFactory(user__username="tariffboss")
    lot = stays.lot_create(organization=op.organization, name="Riverside", capacity=40, tariff=TariffRule())
    admin_login(page, "tariffboss")
    page.goto(page.base_url + f"/admin/parking/lot/{lot.pk}/change/")
    assert page.input_value("input[name=tariffs-0-first_price]") == "5.00"
    page.fill("input[name=tariffs-0-cap_per_24h]", "3")
    page.click("input[name=_save]")
    page.wait_for_selector(".errornote")
    body = page.inner_text("#content")
    assert "Constraint" not in body and "is violated" not in body
    if page.size == "desktop":
        assert no_horizontal_overflow(page)
    shot(page, f"admin-tariff-error-{page.size}")


def test_refunds_view(sized_page):
    page = sized_page
    op = OperatorFactory(user__username="refundboss")
    for price in (800, 450):
        user = customer(balance=5000)
        order = buy(user, VoucherFactory(organization=op.organization, price=price, title=f"Pass {price}"))
        order_pay(order_id=order.pk, user=user)
        order_refund(order_id=order.pk, user=user)
    admin_login(page, "refundboss")
    page.goto(page.base_url + "/admin/orders/order/")
    page.click("[data-testid=refunds-link]")
    page.wait_for_selector("[data-testid=refunds]")
    assert page.locator("[data-testid=refund]").count() == 2
    assert "¥12.50" in page.inner_text("[data-testid=refund-totals]")
    shot(page, f"admin-refunds-{page.size}")
