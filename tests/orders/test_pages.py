import re
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from tests.factories import VoucherFactory
from wallet.models import TopUp

from .helpers import balance, buy, customer, stock

pytestmark = pytest.mark.django_db


def test_my_orders_needs_login(client):
    res = client.get("/orders/")
    assert res.status_code == 302 and "/accounts/login/" in res["Location"]


def test_my_orders_shows_buttons_by_state_and_time_left(client, django_assert_max_num_queries):
    u = customer(balance=1000)
    unpaid = buy(u, VoucherFactory(title="Morning hour", price=300))
    paid = buy(u, VoucherFactory(title="Evening hour", price=200))
    Order.objects.filter(pk=paid.pk).update(status="paid")
    client.force_login(u)
    with django_assert_max_num_queries(8):
        html = client.get("/orders/").content.decode()
    assert "Morning hour" in html and "Evening hour" in html
    assert f"/orders/{unpaid.pk}/pay/" in html and f"/orders/{unpaid.pk}/cancel/" in html
    assert f"/orders/{paid.pk}/refund/" in html and f"/orders/{paid.pk}/pay/" not in html
    assert 'data-testid="time-left"' in html


def test_pay_cancel_refund_buttons_call_the_services(client):
    u = customer(balance=1000)
    v = VoucherFactory(price=300, stock=2)
    order = buy(u, v)
    client.force_login(u)
    res = client.post(f"/orders/{order.pk}/pay/", follow=True)
    assert "Paid from your wallet." in res.content.decode()
    assert balance(u) == 700
    res = client.post(f"/orders/{order.pk}/refund/", follow=True)
    assert "Refunded to your wallet." in res.content.decode()
    assert (balance(u), stock(v)) == (1000, 2)
    res = client.post(f"/orders/{order.pk}/cancel/", follow=True)
    assert "not possible" in res.content.decode() or "cannot be cancelled" in res.content.decode()


def test_pay_button_with_too_little_money_shows_the_error(client):
    u = customer(balance=10)
    order = buy(u, VoucherFactory(price=300))
    client.force_login(u)
    res = client.post(f"/orders/{order.pk}/pay/", follow=True)
    assert "does not cover" in res.content.decode()
    assert Order.objects.get(pk=order.pk).status == "pending_payment"


def test_someone_elses_order_cannot_be_paid_from_the_page(client):
    owner, other = customer(balance=1000), customer(balance=1000)
    order = buy(owner, VoucherFactory(price=300))
    client.force_login(other)
    client.post(f"/orders/{order.pk}/pay/")
    assert balance(other) == 1000 and Order.objects.get(pk=order.pk).status == "pending_payment"


def test_my_orders_expires_overdue_orders_on_read(client):
    u = customer()
    v = VoucherFactory(stock=1)
    order = buy(u, v)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=5))
    client.force_login(u)
    html = client.get("/orders/").content.decode()
    assert 'data-status="expired"' in html
    assert stock(v) == 1


def test_wallet_page_tops_up_through_the_sandbox(client):
    u = customer(balance=100)
    client.force_login(u)
    res = client.post("/wallet/", {"amount": "25.50"}, follow=True)
    assert res.status_code == 200
    assert balance(u) == 2650
    html = res.content.decode()
    assert "¥26.50" in html and "Your wallet was topped up." in html


@pytest.mark.parametrize("amount", ["-5", "0", "abc", "1.234", "99999999", ""])
def test_wallet_page_refuses_bad_amounts(client, amount):
    u = customer(balance=100)
    client.force_login(u)
    res = client.post("/wallet/", {"amount": amount})
    assert res.status_code == 200 and "errorlist" in res.content.decode()
    assert balance(u) == 100 and not TopUp.objects.exists()


def test_nav_links_to_orders_and_wallet(client):
    client.force_login(customer())
    html = client.get("/").content.decode()
    assert 'href="/orders/"' in html and 'href="/wallet/"' in html


def test_a_double_submitted_topup_form_credits_once(client):
    u = customer()
    client.force_login(u)
    html = client.get("/wallet/").content.decode()
    token = re.search(r'name="token" value="([0-9a-f]{32})"', html).group(1)
    client.post("/wallet/", {"amount": "10", "token": token})
    client.post("/wallet/", {"amount": "10", "token": token})
    assert balance(u) == 1000
    assert TopUp.objects.filter(user=u).count() == 1
    client.post("/wallet/", {"amount": "11", "token": token})  # same token, another amount: refused
    assert balance(u) == 1000
