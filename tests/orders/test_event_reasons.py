"""An order event keeps the English reason its writer gave; the admin shows it in the reader's
language (orders/notes.py)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from config.errors import DomainError
from orders.compensation import voucher_compensate
from orders.models import OrderEvent
from orders.notes import event_reason
from orders.services import order_cancel, order_expire, order_pay, order_refund
from tests.factories import OperatorFactory, VoucherFactory

from .helpers import buy, customer

pytestmark = pytest.mark.django_db


def _every_kind_of_event(org):
    user = customer(balance=50_000)
    voucher = VoucherFactory(price=500, organization=org)
    paid = buy(user, voucher)
    order_pay(order_id=paid.pk, user=user)
    order_refund(order_id=paid.pk, user=user)
    order_cancel(order_id=buy(user, voucher).pk, user=user)
    order_expire(order_id=buy(user, voucher).pk, now=timezone.now() + timedelta(days=1))
    late = buy(user, voucher)
    with pytest.raises(DomainError):  # the window closed before the payment
        order_pay(order_id=late.pk, user=user, now=timezone.now() + timedelta(days=1))
    order_pay(order_id=buy(user, voucher).pk, user=user)
    voucher_compensate(voucher_id=voucher.pk, amount=300, message="Lot closed for works", actor=None)
    return user, voucher


def test_every_reason_the_orders_write_reads_in_chinese():
    _every_kind_of_event(OperatorFactory().organization)
    reasons = set(OrderEvent.objects.values_list("reason", flat=True))
    assert len(reasons) >= 6, reasons
    with override("zh-hans"):
        untranslated = {r for r in reasons if event_reason(r) == r}
    assert not untranslated


def test_a_compensation_reads_in_yuan_and_keeps_the_operators_words():
    with override("zh-hans"):
        shown = event_reason("compensated 300 (run #7): Lot closed for works")
        assert shown == "已补偿 ¥3.00（补偿批次 #7）：Lot closed for works"
        assert event_reason("Applied to parking payment 12") == "已用于停车缴费 12"
        assert event_reason("intake: sold_out") == "订单未能入库（sold_out）"
        assert event_reason("an operator's own words") == "an operator's own words"


def test_the_order_page_in_the_admin_shows_the_reasons_translated(client):
    op = OperatorFactory()
    user = customer(balance=5_000)
    order = buy(user, VoucherFactory(price=500, organization=op.organization))
    order_pay(order_id=order.pk, user=user)
    client.force_login(op.user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "已用钱包支付" in page and "paid from wallet" not in page
    events = client.get("/admin/orders/orderevent/").content.decode()
    assert "已下单" in events and ">purchased<" not in events
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert "已用钱包支付" in client.get(f"/admin/orders/orderevent/{event.pk}/change/").content.decode()
