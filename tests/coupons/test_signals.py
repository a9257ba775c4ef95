"""coupons tells the apps above it after each commit; a listener's failure never undoes or fails
the write (the flash-sale gate is repaired by the reconciliation)."""

import logging

import pytest

from coupons import services, signals
from coupons.models import Voucher
from tests.factories import SeckillVoucherFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def heard():
    events = []

    def listener(sender, **kwargs):
        events.append(kwargs)

    return events, listener


@pytest.mark.parametrize(
    "signal, act",
    [
        (signals.voucher_changed, lambda v: services.voucher_delist(voucher_id=v.pk)),
        (signals.units_added, lambda v: services.voucher_restock(voucher_id=v.pk, quantity=3)),
        (signals.voucher_published, lambda v: services.voucher_publish(voucher_id=v.pk)),
    ],
)
def test_each_change_is_announced_once_after_its_commit(heard, signal, act):
    events, listener = heard
    voucher = SeckillVoucherFactory(stock=5)
    signal.connect(listener, dispatch_uid="test-listener")
    try:
        act(voucher)
    finally:
        signal.disconnect(dispatch_uid="test-listener")
    assert len(events) == 1 and events[0]["voucher_id"] == voucher.pk


def test_nothing_is_announced_when_the_change_rolls_back(heard):
    from django.db import transaction

    events, listener = heard
    voucher = SeckillVoucherFactory(stock=5)
    signals.units_added.connect(listener, dispatch_uid="test-listener")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.voucher_restock(voucher_id=voucher.pk, quantity=3)
            raise RuntimeError("the caller's transaction fails after the restock")
    finally:
        signals.units_added.disconnect(dispatch_uid="test-listener")
    assert events == [] and Voucher.objects.get(pk=voucher.pk).stock == 5


def test_a_failing_listener_is_logged_and_the_write_stands(caplog):
    def broken(sender, **kwargs):
        raise ConnectionError("gate unreachable")

    voucher = SeckillVoucherFactory(stock=5)
    signals.voucher_changed.connect(broken, dispatch_uid="test-broken")
    try:
        with caplog.at_level(logging.ERROR, logger="parkmarket.coupons"):
            services.voucher_delist(voucher_id=voucher.pk)
    finally:
        signals.voucher_changed.disconnect(dispatch_uid="test-broken")
    assert Voucher.objects.get(pk=voucher.pk).status == Voucher.Status.DELISTED
    assert any("gate unreachable" in (r.exc_text or str(r.exc_info)) for r in caplog.records)
