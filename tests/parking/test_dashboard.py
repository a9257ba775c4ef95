"""The operators' dashboard (parking/dashboard.py): revenue today / 7 / 30 days from coupon sales
and parking fees, live flash sales with pending intake, open alerts, occupancy; each operator sees
their own organization only; the page and its live JSON."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from coupons.models import Alert
from coupons.services import voucher_publish
from orders.models import Order
from parking import dashboard
from parking.models import ParkingPayment
from parking.services import stays
from seckill import gate
from tests.factories import OperatorFactory, OrderFactory, SeckillVoucherFactory, UserFactory, VoucherFactory

from .conftest import ago

pytestmark = pytest.mark.django_db


def _paid_order(org, amount, days_ago=0, status=Order.Status.PAID):
    at = timezone.now() - timedelta(days=days_ago)
    return OrderFactory(voucher=VoucherFactory(organization=org), amount=amount, status=status, paid_at=at)


def _parking_paid(lot, amount, days_ago=0):
    session = stays.session_enter(lot=lot, plate=f"粤B{uuid.uuid4().int % 90000 + 10000}", at=ago(60))
    ParkingPayment.objects.create(
        session=session,
        fee=amount,
        amount=amount,
        status=ParkingPayment.Status.PAID,
        paid_at=timezone.now() - timedelta(days=days_ago),
        priced_until=timezone.now(),
    )


def test_revenue_sums_coupon_sales_and_parking_fees_by_span(operator, lot):
    org = operator.organization
    _paid_order(org, 1000)
    _paid_order(org, 500, days_ago=3, status=Order.Status.USED)
    _paid_order(org, 700, days_ago=20)
    _paid_order(org, 9999, days_ago=1, status=Order.Status.REFUNDED)  # given back: not revenue
    _paid_order(org, 9999, days_ago=40)  # out of the window
    _paid_order(OperatorFactory().organization, 8888)  # another organization
    _parking_paid(lot, 300)
    _parking_paid(lot, 200, days_ago=10)
    money = dashboard.revenue(organization_id=org.pk)
    assert money["today"] == {"sales": 1000, "parking": 300, "total": 1300}
    assert money["7d"] == {"sales": 1500, "parking": 300, "total": 1800}
    assert money["30d"] == {"sales": 2200, "parking": 500, "total": 2700}
    assert len(money["days"]) == 30 and money["days"][-1]["total"] == 1300


def test_chart_bars_stack_and_scale_to_the_best_day():
    today = timezone.localdate()
    days = [
        {"day": today - timedelta(days=1), "sales": 100, "parking": 100, "total": 200},
        {"day": today, "sales": 0, "parking": 50, "total": 50},
    ]
    c = dashboard.chart(days, width=100, height=100)
    first, second = c["bars"]
    assert (first["parking_h"], first["sales_h"], first["sales_y"]) == (50, 50, 0)
    assert (second["parking_h"], second["sales_h"]) == (25, 0)
    assert c["peak"] == "¥2.00"


def test_live_sales_show_sold_left_and_pending_intake(operator, settings):
    settings.SECKILL_GATE = "redis"
    sale = SeckillVoucherFactory(organization=operator.organization, stock=10, status="draft")
    voucher_publish(voucher_id=sale.pk)
    sale.refresh_from_db()
    gate.gate_load(sale)  # what publishing does on commit
    SeckillVoucherFactory(stock=5)  # another organization's sale
    buyer = UserFactory()
    code, _ = gate.take_and_index(
        voucher_id=sale.pk, user_id=buyer.pk, order_id=uuid.uuid4(), now_ms=int(timezone.now().timestamp() * 1000)
    )
    assert code == gate.OK
    live = dashboard.live_figures(organization_id=operator.organization_id)
    assert [s["id"] for s in live["sales"]] == [sale.pk]
    row = live["sales"][0]
    assert (row["sold"], row["left"], row["pending"], row["claimed_pct"]) == (1, 9, 1, 10)


def test_open_alerts_and_occupancy_are_the_organizations(operator, lot):
    Alert.objects.create(organization=operator.organization, kind="low_stock", message="Only 2 left")
    Alert.objects.create(
        organization=operator.organization, kind="low_stock", message="old", acknowledged_at=timezone.now()
    )
    Alert.objects.create(organization=OperatorFactory().organization, kind="low_stock", message="theirs")
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(5))
    figures = dashboard.dashboard_figures(organization_id=operator.organization_id)
    assert [a.message for a in figures["alerts"]] == ["Only 2 left"]
    assert [(x.name, x.occupancy) for x in figures["lots"]] == [("Central", 1)]


def test_the_admin_home_is_the_dashboard_and_its_live_json_is_scoped(client, operator, lot):
    sale = SeckillVoucherFactory(organization=operator.organization, title="Lunch rush", stock=10, status="draft")
    voucher_publish(voucher_id=sale.pk)
    other = OperatorFactory()
    SeckillVoucherFactory(organization=other.organization, title="Not yours", stock=10)
    client.force_login(operator.user)
    html = client.get("/admin/").content.decode()
    assert 'data-testid="dashboard"' in html and "Lunch rush" in html and "Not yours" not in html
    assert 'data-testid="revenue-chart"' in html and "<svg" in html
    live = client.get("/admin/dashboard/live").json()
    assert [s["title"] for s in live["sales"]] == ["Lunch rush"]
    assert [x["id"] for x in live["lots"]] == [lot.pk]


def test_the_dashboard_needs_the_admin(client):
    client.force_login(UserFactory())
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/dashboard/live").status_code == 302
