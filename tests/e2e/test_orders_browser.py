import pytest

from orders.models import Order
from tests.factories import UserFactory, VoucherFactory
from tests.orders.helpers import balance, buy

from .conftest import login, shot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_top_up_then_pay_an_order_from_the_wallet_through_the_pages(page):
    user = UserFactory(username="driver7")
    order = buy(user, VoucherFactory(title="Two hours downtown", price=1250))
    login(page, "driver7", "s3cure-pass-word")

    page.click("[data-testid=nav-wallet]")
    page.fill("[data-testid=topup-amount]", "20")
    page.click("[data-testid=topup]")
    page.wait_for_selector("text=Your wallet was topped up.")
    assert page.inner_text("[data-testid=wallet-balance]") == "¥20.00"

    page.click("[data-testid=nav-orders]")
    card = page.locator(f"[data-order='{order.pk}']")
    assert card.get_attribute("data-status") == "pending_payment"
    assert ":" in card.locator("[data-testid=time-left]").inner_text()
    shot(page, "orders-before-pay")
    card.locator("[data-testid=pay]").click()
    page.wait_for_selector("text=Paid from your wallet.")
    card = page.locator(f"[data-order='{order.pk}']")
    assert card.get_attribute("data-status") == "paid"
    assert page.inner_text("[data-testid=orders-balance]") == "¥7.50"
    shot(page, "orders-after-pay")

    assert Order.objects.get(pk=order.pk).status == "paid"
    assert balance(user) == 750

    page.click("[data-testid=nav-wallet]")
    rows = page.locator("[data-testid=entry]")
    assert rows.count() == 2
    assert "-¥12.50" in rows.nth(0).inner_text()
