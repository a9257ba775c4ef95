"""The Chinese interface reads as Chinese: every page a driver sees, and the operators' dashboard,
carry no English word beyond the brand, the currency code and the language menu's own names."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.services import order_pay, order_refund
from parking.services import stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, OrderFactory, SeckillVoucherFactory, UserFactory, VoucherFactory
from tests.orders.helpers import buy
from tests.parking.conftest import ago
from wallet.services import wallet_credit

from .conftest import login, shot, use_language
from .test_admin_money_browser import admin_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ALLOWED = {"ParkMarket", "CNY", "English"}


def english_in(text: str, *, also_allowed=()) -> list[str]:
    """The words of two or more Latin letters in `text`, beyond the allowed ones."""
    words = set(re.findall(r"[A-Za-z]{2,}", text))
    return sorted(words - ALLOWED - set(also_allowed))


def english_words(page, *, also_allowed=()) -> list[str]:
    return english_in(page.inner_text("body"), also_allowed=also_allowed)


def test_the_drivers_pages_in_chinese_have_no_english_left(sized_page):
    page = sized_page
    op = OperatorFactory(organization__name="滨江停车")
    lot = stays.lot_create(organization=op.organization, name="滨江一号", capacity=40, tariff=TariffRule())
    sale = SeckillVoucherFactory(
        organization=op.organization,
        lot=lot,
        title="午间秒杀一小时",
        stock=30,
        initial_stock=40,
        ends_at=timezone.now() + timedelta(hours=2),
        benefit_type="minutes",
        benefit_value=60,
    )
    driver = UserFactory(username="zhdriver")
    wallet_credit(user_id=driver.pk, amount=5000, kind="topup", idempotency_key="seed")
    refunded = buy(driver, VoucherFactory(organization=op.organization, title="周末停车券", price=800))
    order_pay(order_id=refunded.pk, user=driver)
    order_refund(order_id=refunded.pk, user=driver)
    buy(driver, VoucherFactory(organization=op.organization, title="夜间停车券", price=600))
    OrderFactory(
        user=driver,
        voucher=VoucherFactory(
            organization=op.organization, lot=lot, title="立减三元", benefit_value=300, valid_days=30
        ),
        status=Order.Status.PAID,
        paid_at=timezone.now(),
    )
    vehicles.vehicle_register(user=driver, plate="粤BD12345", auto_pay=True)
    session = stays.session_enter(lot=lot, plate="粤BD12345", at=ago(100))

    use_language(page, "zh-hans")
    login(page, "zhdriver", "s3cure-pass-word")
    pages = {
        "home": "/",
        "vouchers": "/vouchers/",
        "voucher": f"/vouchers/{sale.pk}/",
        "coupons": "/coupons/mine/",
        "orders": "/orders/",
        "wallet": "/wallet/",
        "vehicles": "/parking/vehicles/",
        "parking": "/parking/sessions/",
        "pay": f"/parking/sessions/{session.pk}/pay/",
        "404": "/vouchers/987654/",
    }
    found = {}
    for name, path in pages.items():
        page.goto(page.base_url + path)
        page.wait_for_load_state("domcontentloaded")
        left = english_words(page, also_allowed={"zhdriver", "BD"})  # the username and the plate
        if left:
            found[name] = left
        shot(page, f"zh-{name}-{page.size}")
    assert found == {}, f"English left in the Chinese pages: {found}"


def test_the_dashboard_in_chinese_has_no_english_left(sized_page):
    page = sized_page
    op = OperatorFactory(user__username="zhboss", organization__name="滨江停车")
    lot = stays.lot_create(organization=op.organization, name="滨江一号", capacity=40, tariff=TariffRule())
    SeckillVoucherFactory(organization=op.organization, lot=lot, title="午间秒杀", stock=10)
    use_language(page, "zh-hans")
    admin_login(page, "zhboss")
    page.goto(page.base_url + "/admin/")
    dashboard = page.locator("[data-testid=dashboard] section")
    text = " ".join(dashboard.all_inner_texts())
    assert sorted(set(re.findall(r"[A-Za-z]{2,}", text)) - ALLOWED) == []
    shot(page, f"zh-dashboard-{page.size}")
