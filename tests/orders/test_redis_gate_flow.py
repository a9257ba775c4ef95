"""Orders bought through the Redis gate (202, written by the intake) go through the same lifecycle,
and every unit that comes back reaches the gate too: a customer whose order was cancelled, expired
or refunded can buy again, and the gate's stock matches the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from orders.tasks import expire_due_orders
from seckill import gate
from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory

from .helpers import assert_ledger_matches_balances, balance, customer, stock

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _redis_gate(settings):
    settings.SECKILL_GATE = "redis"


def purchase(client, voucher):
    res = client.post(f"/api/v1/vouchers/{voucher.pk}/purchase", {}, format="json")
    assert res.status_code == 202, res.content
    return res.json()["order"]["id"]


def gate_stock(voucher) -> int:
    return gate.peek(voucher.pk)[1]


@pytest.mark.parametrize("how", ["cancel", "expire", "refund"])
def test_a_unit_given_back_returns_to_the_gate_and_the_buyer_may_buy_again(how, django_capture_on_commit_callbacks):
    v = SeckillVoucherFactory(stock=2, price=300)
    u = customer(balance=1000)
    client = auth_client(u)
    with django_capture_on_commit_callbacks(execute=True):
        oid = purchase(client, v)
    assert client.get(f"/api/v1/orders/{oid}").json()["status"] == "pending_payment"
    assert (stock(v), gate_stock(v)) == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        if how == "cancel":
            assert client.post(f"/api/v1/orders/{oid}/cancel").status_code == 200
        elif how == "expire":
            Order.objects.filter(pk=oid).update(expires_at=timezone.now() - timedelta(seconds=1))
            assert expire_due_orders.delay().get() == 1
        else:
            assert client.post(f"/api/v1/orders/{oid}/pay", {"method": "wallet"}, format="json").status_code == 200
            assert client.post(f"/api/v1/orders/{oid}/refund").status_code == 200
    assert (stock(v), gate_stock(v)) == (2, 2)
    assert balance(u) == 1000
    with django_capture_on_commit_callbacks(execute=True):
        again = purchase(client, v)
    assert client.get(f"/api/v1/orders/{again}").json()["status"] == "pending_payment"
    assert (stock(v), gate_stock(v)) == (1, 1)
    assert_ledger_matches_balances()
