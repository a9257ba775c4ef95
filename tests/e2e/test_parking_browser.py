import pytest
from django.utils import timezone

from orders.models import Order
from parking.models import ParkingPayment
from parking.services import stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, OrderFactory, UserFactory, VoucherFactory, WalletFactory
from tests.parking.conftest import ago, balance, fund

from .conftest import login, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_pay_a_parking_fee_with_a_coupon_through_the_pages(page):
    org = OperatorFactory().organization
    lot = stays.lot_create(organization=org, name="Riverside", capacity=20, tariff=TariffRule())
    driver = UserFactory(username="parker")
    WalletFactory(user=driver)
    fund(driver, 2000)
    voucher = VoucherFactory(
        organization=org, lot=lot, title="¥3 off at Riverside", benefit_type="amount", benefit_value=300
    )
    coupon = OrderFactory(user=driver, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())

    login(page, "parker", "s3cure-pass-word")
    page.click("[data-testid=nav-vehicles]")
    page.fill("input[name=plate]", "粤b 12345")
    page.check("input[name=auto_pay]")
    page.click("[data-testid=vehicle-form] button[type=submit]")
    page.wait_for_selector("tr[data-plate='粤B12345']")
    shot(page, "parking-vehicles")

    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    page.click("[data-testid=nav-parking]")
    card = page.locator(f"[data-session='{session.pk}']")
    assert "¥9.00" in card.inner_text()
    shot(page, "parking-sessions")

    page.click(f"[data-testid=pay-{session.pk}]")
    page.wait_for_selector("[data-testid=pay-form]")
    # The best coupon is preselected and named; "No coupon" shows the full fee.
    assert "¥6.00" in page.locator("[data-testid=to-pay]").inner_text()
    assert voucher.title in page.locator("[data-testid=best-coupon]").inner_text()
    page.check("input[name=coupon][value='']")
    assert "¥9.00" in page.locator("[data-testid=to-pay]").inner_text()
    page.check(f"[data-testid=coupon-{coupon.pk}] input")
    assert "¥6.00" in page.locator("[data-testid=to-pay]").inner_text()
    shot(page, "parking-pay")
    page.click("[data-testid=pay-submit]")
    page.wait_for_selector(".msg.success")
    assert "Paid ¥6.00" in page.locator(".msg.success").inner_text()
    shot(page, "parking-paid")

    payment = ParkingPayment.objects.get(session=session)
    assert payment.status == "paid" and payment.discount == 300 and payment.amount == 600
    coupon.refresh_from_db()
    assert coupon.status == Order.Status.USED
    assert balance(driver) == 1400


def test_operator_sees_the_lot_report_in_the_admin(page):
    operator = OperatorFactory(user__username="lotboss")
    lot = stays.lot_create(organization=operator.organization, name="Harbour", capacity=4, tariff=TariffRule())
    driver = UserFactory()
    WalletFactory(user=driver)
    fund(driver, 5000)
    vehicles.vehicle_register(user=driver, plate="粤B12345", auto_pay=True)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(200))
    stays.session_exit(lot=lot, plate="粤B12345", at=ago(100))
    stays.session_enter(lot=lot, plate="粤B54321", at=ago(30))

    page.goto(page.base_url + "/admin/login/")
    page.fill("input[name=username]", "lotboss")
    page.fill("input[name=password]", "s3cure-pass-word")
    page.click("input[type=submit]")
    page.goto(page.base_url + "/admin/parking/lot/")
    page.click("text=Occupancy and revenue")
    page.wait_for_selector("[data-testid=revenue-total]")
    assert page.locator("[data-testid=revenue-total]").inner_text() == "¥9.00"
    assert "1 / 4" in page.content()
    shot(page, "parking-admin-lot-report")
