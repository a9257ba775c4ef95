"""Partnerships in the admin: offering from the form, answering with actions, and each side's
settlement entries (its own side only) with the CSV export."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Operator
from orders.models import Order
from parking.models import Partnership, SettlementEntry
from parking.services import partnerships, payments, stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, OrderFactory, VoucherFactory

from .conftest import ago, fund

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%d %H:%M:%S"


@pytest.fixture
def a_lot(operator):
    return stays.lot_create(organization=operator.organization, name="Mall East", capacity=10, tariff=TariffRule())


@pytest.fixture
def b(db):
    return OperatorFactory()


def web(client, user):
    client.force_login(user)
    return client


def form(b, lots, change=None):
    now = timezone.localtime()
    return {
        "partner": b.organization.pk,
        "lots": [lot.pk for lot in lots],
        "benefit_types": ["amount", "free"],
        "settlement_price": "2.50",  # typed in yuan
        "valid_from_0": (now - timedelta(days=1)).strftime("%Y-%m-%d"),
        "valid_from_1": "00:00:00",
        "valid_until_0": (now + timedelta(days=30)).strftime("%Y-%m-%d"),
        "valid_until_1": "00:00:00",
        "monthly_cap": 10,
    } | (change or {})


def test_an_operator_offers_from_the_admin_and_the_partner_accepts(client, operator, a_lot, b):
    res = web(client, operator.user).post("/admin/parking/partnership/add/", form(b, [a_lot]))
    assert res.status_code == 302, res.content.decode()[:3000]
    p = Partnership.objects.get()
    assert (p.offering, p.partner, p.status, p.benefit_types) == (
        operator.organization,
        b.organization,
        "offered",
        ["amount", "free"],
    )
    assert p.settlement_price == 250
    assert list(p.lots.all()) == [a_lot] and p.offered_by == operator.user
    page = client.get(f"/admin/parking/partnership/{p.pk}/change/")
    assert page.status_code == 200 and "Mall East" in page.content.decode()  # terms shown, not editable
    assert "¥2.50" in page.content.decode() and "Amount off, Free stay" in page.content.decode()
    assert client.get("/admin/parking/partnership/add/").status_code == 200

    client.logout()
    b_web = web(client, b.user)
    assert str(p.pk) in b_web.get("/admin/parking/partnership/").content.decode()
    assert b_web.get(f"/admin/parking/partnership/{p.pk}/change/").status_code == 200
    res = b_web.post("/admin/parking/partnership/", {"action": "accept", "_selected_action": [p.pk]})
    assert res.status_code == 302
    p.refresh_from_db()
    assert p.status == "accepted"


def test_the_form_refuses_bad_terms(client, operator, a_lot, b):
    foreign = stays.lot_create(organization=b.organization, name="Theirs", capacity=3, tariff=TariffRule())
    admin_web = web(client, operator.user)
    for change, field in [
        ({"lots": [foreign.pk]}, "lots"),
        ({"partner": operator.organization.pk}, "partner"),
        ({"valid_until_0": "2020-01-01"}, "valid_until"),
        ({"benefit_types": ["cashback"]}, "benefit_types"),
    ]:
        res = admin_web.post("/admin/parking/partnership/add/", form(b, [a_lot], change))
        assert res.status_code == 200 and field in res.context["adminform"].form.errors, change
    assert not Partnership.objects.exists()


def test_a_third_organization_sees_nothing_and_cannot_answer(client, operator, a_lot, b):
    p = partnerships.partnership_offer(
        organization=operator.organization,
        user=None,
        partner=b.organization,
        lots=[a_lot],
        benefit_types=["amount"],
        settlement_price=1,
        valid_from=timezone.now(),
        valid_until=timezone.now() + timedelta(days=1),
        monthly_cap=1,
    )
    stranger = web(client, OperatorFactory().user)
    assert f">{p.pk}<" not in stranger.get("/admin/parking/partnership/").content.decode()
    stranger.post("/admin/parking/partnership/", {"action": "accept", "_selected_action": [p.pk]})
    p.refresh_from_db()
    assert p.status == "offered"
    assert stranger.get(f"/admin/parking/partnership/{p.pk}/change/").status_code in (302, 404)


def test_each_side_sees_its_own_entries_and_exports_them(client, operator, a_lot, b, customer):
    p = partnerships.partnership_offer(
        organization=operator.organization,
        user=None,
        partner=b.organization,
        lots=[a_lot],
        benefit_types=["amount"],
        settlement_price=250,
        valid_from=timezone.now() - timedelta(days=1),
        valid_until=timezone.now() + timedelta(days=1),
        monthly_cap=5,
    )
    partnerships.partnership_accept(partnership_id=p.pk, organization=b.organization)
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=a_lot, plate="粤B12345", at=ago(100))
    payment = payments.payment_refresh(session=session)[1]
    order = OrderFactory(
        user=customer,
        voucher=VoucherFactory(organization=b.organization),
        status=Order.Status.PAID,
        paid_at=timezone.now(),
    )
    payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)
    mine = SettlementEntry.objects.get(organization=operator.organization)
    theirs = SettlementEntry.objects.get(organization=b.organization)

    cashier = OperatorFactory(organization=b.organization, role=Operator.Role.CASHIER)
    sides = ((operator.user, mine, theirs, "¥2.50", "250"), (cashier.user, theirs, mine, "-¥2.50", "-250"))
    for user, own, other, amount, fen in sides:  # the admin shows yuan; the exported file keeps fen
        client.logout()
        admin_web = web(client, user)
        res = admin_web.get(f"/admin/parking/settlemententry/?partnership__id__exact={p.pk}")
        assert res.status_code == 200
        ids = [e.pk for e in res.context["cl"].result_list]
        assert ids == [own.pk] and other.pk not in ids
        assert f"1 redemptions, net {amount}" in res.content.decode()
        res = admin_web.post(
            "/admin/parking/settlemententry/", {"action": "export_csv", "_selected_action": [own.pk, other.pk]}
        )
        assert res["Content-Type"].startswith("text/csv")
        lines = res.content.decode().strip().splitlines()
        assert len(lines) == 2 and lines[1].split(",")[-2] == fen
