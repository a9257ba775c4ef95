import pytest

from parking.models import MerchantIssue, ParkingPayment
from parking.services import merchants, stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, UserFactory, WalletFactory
from tests.parking.conftest import ago, balance, fund

from .conftest import login, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_merchant_gives_a_coupon_by_plate_and_the_driver_leaves_with_it(page):
    org = OperatorFactory().organization
    lot = stays.lot_create(organization=org, name="Mall Garage", capacity=20, tariff=TariffRule())
    account = UserFactory(username="teashop")
    WalletFactory(user=account)
    fund(account, 5000)
    merchants.merchant_create(
        organization=org,
        name="Tea House",
        lots=[lot],
        account=account,
        benefit_type="minutes",
        benefit_value=120,
        unit_price=300,
    )
    driver = UserFactory(username="driver")
    WalletFactory(user=driver)
    vehicles.vehicle_register(user=driver, plate="粤B12345", auto_pay=False)

    login(page, "teashop", "s3cure-pass-word")
    page.click("[data-testid=nav-merchant]")
    assert "Minutes off (120), 300 fen" in page.locator(".lead").inner_text()
    page.fill("[data-testid=buy-form] input[name=quantity]", "3")
    page.fill("[data-testid=buy-form] input[name=days]", "7")
    page.click("[data-testid=buy-form] button[type=submit]")
    page.wait_for_selector(".msg.success")
    assert "3 coupons bought for 900 fen" in page.locator(".msg.success").inner_text()
    assert page.locator("[data-testid=merchant-balance]").inner_text() == "4100"

    page.fill("[data-testid=issue-form] input[name=plate]", "粤b 12345")
    page.click("[data-testid=issue-by-plate]")
    page.wait_for_selector("tr[data-plate='粤B12345']")
    assert "Issued" in page.locator("tr[data-plate='粤B12345'] [data-testid=issue-status]").inner_text()
    shot(page, "merchant-issued")

    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    result = stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))
    assert result.barrier == "open" and result.due == 0  # the coupon paid the whole stay

    page.reload()
    assert "Used" in page.locator("tr[data-plate='粤B12345'] [data-testid=issue-status]").inner_text()
    assert "Mall Garage" in page.locator("tr[data-plate='粤B12345']").inner_text()
    shot(page, "merchant-redeemed")

    payment = ParkingPayment.objects.get(session=result.session)
    assert (payment.fee, payment.discount, payment.amount, payment.status) == (900, 900, 0, "paid")
    assert MerchantIssue.objects.get().payment == payment
    assert balance(driver) == 0
