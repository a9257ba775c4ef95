"""Restock from the admin: the action asks how many units, then calls coupons.services.voucher_restock
(database and flash-sale gate together); another organization's voucher cannot be restocked."""

import pytest

from coupons.models import Voucher
from seckill import gate
from tests.factories import OperatorFactory, SeckillVoucherFactory, VoucherFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _restock(client, voucher_ids, quantity=None):
    data = {"action": "restock", "_selected_action": [str(v) for v in voucher_ids]}
    if quantity is not None:
        data.update(apply="1", quantity=str(quantity))
    return client.post("/admin/coupons/voucher/", data, follow=True)


def test_restock_asks_then_adds_units_to_the_database_and_the_gate(client):
    from coupons.services import voucher_publish

    op = OperatorFactory()
    voucher = SeckillVoucherFactory(organization=op.organization, stock=3, status=Voucher.Status.DRAFT)
    voucher_publish(voucher_id=voucher.pk)
    client.force_login(op.user)
    form = _restock(client, [voucher.pk]).content.decode()
    assert 'data-testid="restock-form"' in form and 'name="quantity"' in form
    res = _restock(client, [voucher.pk], 7)
    assert "10 left" in res.content.decode()
    voucher.refresh_from_db()
    assert (voucher.stock, voucher.initial_stock) == (10, 10)
    assert gate.peek(voucher.pk)[1] == 10


def test_restock_refuses_nonsense_and_unlimited_vouchers(client):
    op = OperatorFactory()
    unlimited = VoucherFactory(organization=op.organization, stock=None, initial_stock=None)
    client.force_login(op.user)
    assert "errorlist" in _restock(client, [unlimited.pk], 0).content.decode()
    res = _restock(client, [unlimited.pk], 5).content.decode()
    assert "unlimited stock" in res
    unlimited.refresh_from_db()
    assert unlimited.stock is None


def test_another_organizations_voucher_is_not_restocked(client):
    op = OperatorFactory()
    theirs = VoucherFactory(stock=4)
    client.force_login(op.user)
    _restock(client, [theirs.pk], 5)
    theirs.refresh_from_db()
    assert theirs.stock == 4
