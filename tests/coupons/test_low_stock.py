"""Low-stock alerts: once per crossing however many purchases cross at once; a restock re-arms."""

import logging

import pytest
from django.core import mail

from coupons.models import Alert, Voucher
from coupons.services import voucher_restock
from coupons.tasks import scan_low_stock
from seckill.purchase import voucher_purchase
from tests.factories import OperatorFactory, SeckillVoucherFactory

from ..seckill.conftest import make_users, race

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator():
    return OperatorFactory(user__email="ops@example.com")


@pytest.mark.parametrize("gate_fixture", ["db_gate", "redis_gate"])
def test_crossing_the_threshold_alerts_once_even_in_a_race(request, gate_fixture, operator, caplog):
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=30, low_stock_threshold=10)
    users = make_users(30, prefix="low")
    with caplog.at_level(logging.WARNING, logger="parkmarket.coupons"):
        results, _ = race(lambda u: voucher_purchase(voucher_id=voucher.pk, user=u), [(u,) for u in users])
    assert len(results) == 30
    alerts = Alert.objects.filter(voucher=voucher, kind=Alert.Kind.LOW_STOCK)
    assert alerts.count() == 1
    assert alerts.get().organization == operator.organization
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]
    assert "running low" in mail.outbox[0].body
    assert sum("kind=low_stock" in r.getMessage() for r in caplog.records) == 1


def test_no_alert_above_the_threshold_and_restock_rearms(db_gate, operator):
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=4, low_stock_threshold=2)
    users = make_users(6, prefix="re")
    voucher_purchase(voucher_id=voucher.pk, user=users[0])
    assert not Alert.objects.exists()
    voucher_purchase(voucher_id=voucher.pk, user=users[1])  # 2 left: crossing
    voucher_purchase(voucher_id=voucher.pk, user=users[2])  # still low: no second alert
    assert Alert.objects.filter(kind=Alert.Kind.LOW_STOCK).count() == 1
    voucher = voucher_restock(voucher_id=voucher.pk, quantity=5)
    assert voucher.low_stock_alerted_at is None and voucher.stock == 6
    for u in users[3:6]:
        voucher_purchase(voucher_id=voucher.pk, user=u)
    assert Alert.objects.filter(kind=Alert.Kind.LOW_STOCK).count() == 1  # 3 left: above 2
    voucher_purchase(voucher_id=voucher.pk, user=make_users(1, prefix="last")[0])
    assert Alert.objects.filter(kind=Alert.Kind.LOW_STOCK).count() == 2
    assert len(mail.outbox) == 2


def test_sweep_catches_a_missed_crossing(db_gate, operator):
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=1, low_stock_threshold=3)
    SeckillVoucherFactory(organization=operator.organization, stock=1, low_stock_threshold=0)
    SeckillVoucherFactory(organization=operator.organization, stock=1, low_stock_threshold=3, status="delisted")
    assert scan_low_stock() == 1
    assert scan_low_stock() == 0
    assert Alert.objects.get(kind=Alert.Kind.LOW_STOCK).voucher == voucher
    assert Voucher.objects.get(pk=voucher.pk).low_stock_alerted_at is not None
