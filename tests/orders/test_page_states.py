"""What the customer pages show about state: the buy button (buy, bought, sold out), paging of
orders and of the ledger, confirmations before cancel and remove."""

import re

import pytest

from tests.factories import OrderFactory, VoucherFactory
from wallet.services import wallet_credit

from .helpers import buy, customer

pytestmark = pytest.mark.django_db


def _button(html: str) -> tuple[str, bool, str]:
    tag = re.search(r'<button[^>]*data-testid="buy"[^>]*>([^<]*)</button>', html)
    state = re.search(r'data-state="(\w+)"', tag.group(0)).group(1)
    return state, "disabled" in tag.group(0), tag.group(1)


def test_the_buy_button_says_buy_bought_or_sold_out(client):
    user = customer(balance=5000)
    client.force_login(user)
    voucher = VoucherFactory(stock=2, per_user_limit=1)
    url = f"/vouchers/{voucher.pk}/"
    assert _button(client.get(url).content.decode()) == ("buy", False, "Buy now")
    buy(user, voucher)
    assert _button(client.get(url).content.decode()) == ("bought", True, "Bought")
    other = customer()
    buy(other, voucher)  # the last unit
    client.force_login(customer())
    assert _button(client.get(url).content.decode()) == ("sold_out", True, "Sold out")


def test_a_larger_limit_keeps_the_button_until_the_limit(client):
    user = customer(balance=5000)
    client.force_login(user)
    voucher = VoucherFactory(stock=5, per_user_limit=2)
    buy(user, voucher)
    assert _button(client.get(f"/vouchers/{voucher.pk}/").content.decode())[0] == "buy"
    buy(user, voucher)
    assert _button(client.get(f"/vouchers/{voucher.pk}/").content.decode())[0] == "bought"


def test_orders_are_paged_twenty_at_a_time(client):
    user = customer()
    for _ in range(45):
        OrderFactory(user=user)
    client.force_login(user)
    first = client.get("/orders/").content.decode()
    assert first.count('data-testid="order"') == 20 and "Page 1 of 3" in first
    last = client.get("/orders/?page=3").content.decode()
    assert last.count('data-testid="order"') == 5 and 'data-testid="page-next"' not in last
    assert client.get("/orders/?page=99").content.decode().count('data-testid="order"') == 5  # the last page
    assert client.get("/orders/?page=x").status_code == 200


def test_the_ledger_is_paged(client):
    user = customer()
    for i in range(25):
        wallet_credit(user_id=user.pk, amount=100 + i, kind="topup", idempotency_key=f"k{i}")
    client.force_login(user)
    first = client.get("/wallet/").content.decode()
    assert first.count('data-testid="entry"') == 20 and "Page 1 of 2" in first
    second = client.get("/wallet/?page=2").content.decode()
    assert second.count('data-testid="entry"') == 5 and 'data-testid="page-prev"' in second


def test_cancel_and_remove_ask_first(client):
    user = customer()
    OrderFactory(user=user)
    client.force_login(user)
    orders = client.get("/orders/").content.decode()
    assert re.search(r'action="/orders/[^"]+/cancel/"[^>]*data-confirm="[^"]+"', orders)
    client.post("/parking/vehicles/", {"plate": "粤B12345"})
    vehicles = client.get("/parking/vehicles/").content.decode()
    assert re.search(r'action="/parking/vehicles/\d+/remove/"[^>]*data-confirm="Remove 粤B12345', vehicles)
