"""What every visitor sees, at desktop and phone size: the logo and favicon, the product's error
pages in both languages, red form errors, a vehicle list a phone can use (type, remove with a
confirmation), the buy button's states, and the API docs working without the internet."""

import pytest

from orders.models import Order
from parking.models import Vehicle
from tests.factories import UserFactory, VoucherFactory, WalletFactory
from tests.orders.helpers import buy

from .conftest import login, shot, use_language

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_logo_favicon_and_error_pages_in_both_languages(sized_page):
    page = sized_page
    page.goto(page.base_url + "/")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(page.base_url + icon).status == 200
    logo = page.locator(".brand img")
    assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "🅿" not in page.inner_text(".brand")

    res = page.goto(page.base_url + "/vouchers/424242/")
    assert res.status == 404
    assert page.inner_text("h1") == "Not found" and "URLconf" not in page.content()
    shot(page, f"ui-404-en-{page.size}")
    use_language(page, "zh-hans")
    page.goto(page.base_url + "/vouchers/424242/")
    assert page.inner_text("h1") == "未找到"
    shot(page, f"ui-404-zh-{page.size}")


def test_csrf_failure_is_the_products_page(sized_page):
    page = sized_page
    UserFactory(username="formfan")
    page.goto(page.base_url + "/accounts/login/")
    page.context.clear_cookies()  # the form's token no longer matches any cookie
    page.fill("input[name=username]", "formfan")
    page.fill("input[name=password]", "s3cure-pass-word")
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_selector("[data-testid=csrf-help]")
    assert "CSRF verification failed" not in page.content()
    shot(page, f"ui-403-csrf-{page.size}")


def test_vehicles_on_a_phone_type_inferred_editable_removable_with_confirmation(sized_page):
    page = sized_page
    user = UserFactory(username="evdriver")
    WalletFactory(user=user)
    login(page, "evdriver", "s3cure-pass-word")
    page.click("[data-testid=nav-vehicles]")

    page.fill("input[name=plate]", "not a plate")
    page.click("[data-testid=vehicle-form] button[type=submit]")
    error = page.locator(".errorlist").first
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(180, 35, 24)"  # --bad, not grey
    shot(page, f"ui-form-error-{page.size}")

    page.fill("input[name=plate]", "粤BD12345")
    page.click("[data-testid=vehicle-form] button[type=submit]")
    row = page.locator("tr[data-plate='粤BD12345']")
    vehicle = Vehicle.objects.get(plate="粤BD12345")
    assert vehicle.vehicle_type == "new_energy"
    select = row.locator(f"[data-testid=type-{vehicle.pk}]")
    assert select.input_value() == "new_energy"
    select.select_option("large")
    page.wait_for_selector(".msg.success")
    vehicle.refresh_from_db()
    assert vehicle.vehicle_type == "large"

    remove = page.locator(f"[data-testid=remove-{vehicle.pk}]")
    assert remove.is_visible()
    shot(page, f"ui-vehicles-{page.size}")
    page.once("dialog", lambda dialog: dialog.dismiss())
    remove.click()
    assert Vehicle.objects.filter(pk=vehicle.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    remove.click()
    page.wait_for_selector("text=Vehicle 粤BD12345 removed.")
    assert not Vehicle.objects.filter(pk=vehicle.pk).exists()


def test_cancel_asks_first(sized_page):
    page = sized_page
    user = UserFactory(username="changemind")
    order = buy(user, VoucherFactory(title="Evening pass"))
    login(page, "changemind", "s3cure-pass-word")
    page.click("[data-testid=nav-orders]")
    card = page.locator(f"[data-order='{order.pk}']")
    messages = []
    page.once("dialog", lambda d: (messages.append(d.message), d.dismiss()))
    card.locator("[data-testid=cancel]").click()
    assert messages and "Cancel this order" in messages[0]
    assert Order.objects.get(pk=order.pk).status == "pending_payment"
    page.once("dialog", lambda d: d.accept())
    card.locator("[data-testid=cancel]").click()
    page.wait_for_selector("text=Order cancelled.")
    assert Order.objects.get(pk=order.pk).status == "cancelled"


def test_the_buy_button_turns_to_bought_and_shows_sold_out(sized_page):
    page = sized_page
    UserFactory(username="buyer1")
    voucher = VoucherFactory(title="Weekend 2 hours", stock=1)
    login(page, "buyer1", "s3cure-pass-word")
    page.goto(page.base_url + f"/vouchers/{voucher.pk}/")
    button = page.locator("[data-testid=buy]")
    assert button.inner_text() == "Buy now" and button.is_enabled()
    button.click()
    page.wait_for_selector("[data-testid=buy][data-state=bought]")
    assert button.inner_text() == "Bought" and button.is_disabled()
    shot(page, f"ui-buy-bought-{page.size}")
    page.reload()
    assert page.locator("[data-testid=buy]").inner_text() == "Bought"

    UserFactory(username="buyer2")
    login(page, "buyer2", "s3cure-pass-word")
    page.goto(page.base_url + f"/vouchers/{voucher.pk}/")
    assert button.inner_text() == "Sold out" and button.is_disabled()
    shot(page, f"ui-buy-sold-out-{page.size}")


def test_api_docs_render_with_no_request_leaving_the_machine(sized_page):
    page = sized_page
    outside = []

    def only_local(route):
        url = route.request.url
        if url.startswith(page.base_url):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(page.base_url + "/api/v1/docs/")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert outside == []
    assert page.locator(".opblock").count() > 10
    shot(page, f"ui-api-docs-{page.size}")
