"""The admin's refunds view: its organization's refunds only, with totals and the reason."""

import pytest

from orders.services import order_pay, order_refund
from tests.factories import OperatorFactory, VoucherFactory

from .helpers import buy, customer

pytestmark = pytest.mark.django_db


def _refunded(org=None, price=800):
    user = customer(balance=5000)
    voucher = VoucherFactory(price=price, **({"organization": org} if org else {}))
    order = buy(user, voucher)
    order_pay(order_id=order.pk, user=user)
    order_refund(order_id=order.pk, user=user)
    return order


def test_refunds_view_lists_the_organizations_refunds_with_totals(client):
    op = OperatorFactory()
    mine = _refunded(op.organization, price=800)
    _refunded(op.organization, price=450)
    theirs = _refunded(price=999)
    client.force_login(op.user)
    html = client.get("/admin/orders/order/refunds/").content.decode()
    assert html.count('data-testid="refund"') == 2
    assert mine.voucher.title in html and theirs.voucher.title not in html
    assert "¥12.50" in html and "2 refunds" in html  # 8.00 + 4.50 today
    assert "At the customer&#x27;s request" in html or "At the customer's request" in html
    assert 'data-testid="refunds-link"' in client.get("/admin/orders/order/").content.decode()


def test_refunds_view_needs_an_operator(client):
    client.force_login(customer())
    assert client.get("/admin/orders/order/refunds/").status_code == 302  # to the admin login


def test_a_compensated_withdrawal_counts_as_one_refund(client):
    """A withdrawal refunds the order, then credits the compensation: one refund of its amount."""
    from orders.compensation import voucher_compensate

    op = OperatorFactory()
    user = customer(balance=5000)
    voucher = VoucherFactory(organization=op.organization, price=500)
    order_pay(order_id=buy(user, voucher).pk, user=user)
    voucher_compensate(voucher_id=voucher.pk, amount=200, message="Sorry", actor=op.user)
    client.force_login(op.user)
    html = client.get("/admin/orders/order/refunds/").content.decode()
    assert html.count('data-testid="refund"') == 1
    assert "¥5.00" in html and "¥10.00" not in html and "1 refund" in html
