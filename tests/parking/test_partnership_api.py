"""The operator API of partnerships: the offer's life, each side's statements (JSON and CSV), the
scoping between organizations and bad input answered with codes."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Operator
from orders.models import Order
from parking.services import payments, stays, vehicles
from parking.services.partnerships import month_of
from parking.tariffs import TariffRule
from tests.conftest import auth_client
from tests.factories import OperatorFactory, OrderFactory, VoucherFactory

from .conftest import ago, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def a(operator):
    return operator


@pytest.fixture
def b(db):
    return OperatorFactory()


@pytest.fixture
def a_lot(a):
    return stays.lot_create(organization=a.organization, name="Mall East", capacity=10, tariff=TariffRule())


def offer_body(b, lots, change=None):
    return {
        "partner": b.organization.name,
        "lots": [lot.pk for lot in lots],
        "benefit_types": ["amount"],
        "settlement_price": 250,
        "valid_from": (timezone.now() - timedelta(days=1)).isoformat(),
        "valid_until": (timezone.now() + timedelta(days=30)).isoformat(),
        "monthly_cap": 100,
    } | (change or {})


def redeem(customer, lot, org, plate="粤B12345"):
    vehicles.vehicle_register(user=customer, plate=plate)
    session = stays.session_enter(lot=lot, plate=plate, at=ago(100))
    payment = payments.payment_refresh(session=session)[1]
    voucher = VoucherFactory(organization=org, benefit_type="amount", benefit_value=300)
    order = OrderFactory(user=customer, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
    return payments.payment_pay(payment_id=payment.pk, user=customer, coupon_id=order.pk)


def test_offer_accept_redeem_and_each_side_reads_its_statement(a, b, a_lot, customer):
    a_api, b_api = auth_client(a.user), auth_client(b.user)
    res = a_api.post("/api/v1/operator/partnerships", offer_body(b, [a_lot]), format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["status"] == "offered" and body["side"] == "offering"
    assert body["partner"] == {"id": b.organization.pk, "name": b.organization.name}
    assert body["lots"] == [{"id": a_lot.pk, "name": "Mall East"}]
    pid = body["id"]

    seen_by_b = b_api.get("/api/v1/operator/partnerships").json()
    assert [p["id"] for p in seen_by_b] == [pid] and seen_by_b[0]["side"] == "partner"
    res = b_api.post(f"/api/v1/operator/partnerships/{pid}/accept")
    assert res.status_code == 200 and res.json()["status"] == "accepted"

    fund(customer, 5000)
    paid = redeem(customer, a_lot, b.organization)
    month = month_of(timezone.now()).strftime("%Y-%m")

    for api, other, amount in ((a_api, b, 250), (b_api, a, -250)):
        assert api.get(f"/api/v1/operator/partnerships/{pid}/statements").json() == [
            {"month": month, "redemptions": 1, "amount": amount}
        ]
        statement = api.get(f"/api/v1/operator/partnerships/{pid}/statements/{month}").json()
        assert statement["counterparty"] == {"id": other.organization.pk, "name": other.organization.name}
        assert (statement["redemptions"], statement["amount"]) == (1, amount)
        assert [(e["payment"], e["amount"], e["plate"]) for e in statement["entries"]] == [
            (paid.pk, amount, "粤B12345")
        ]
        res = api.get(f"/api/v1/operator/partnerships/{pid}/statements/{month}/csv")
        assert res.status_code == 200 and res["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(res.content.decode())))
        assert [(r["payment"], r["amount"], r["lot"]) for r in rows] == [(str(paid.pk), str(amount), "Mall East")]

    res = a_api.post(f"/api/v1/operator/partnerships/{pid}/end")
    assert res.status_code == 200 and res.json()["status"] == "ended" and res.json()["ended_by"] == a.organization.pk


def test_a_third_organization_sees_nothing(a, b, a_lot):
    pid = auth_client(a.user).post("/api/v1/operator/partnerships", offer_body(b, [a_lot]), format="json").json()["id"]
    stranger = auth_client(OperatorFactory().user)
    assert stranger.get("/api/v1/operator/partnerships").json() == []
    for method, url in [
        ("get", f"/api/v1/operator/partnerships/{pid}"),
        ("post", f"/api/v1/operator/partnerships/{pid}/accept"),
        ("post", f"/api/v1/operator/partnerships/{pid}/end"),
        ("get", f"/api/v1/operator/partnerships/{pid}/statements"),
        ("get", f"/api/v1/operator/partnerships/{pid}/statements/2026-01"),
        ("get", f"/api/v1/operator/partnerships/{pid}/statements/2026-01/csv"),
    ]:
        res = getattr(stranger, method)(url)
        assert res.status_code == 404 and res.json()["error"]["code"] == "not_found", url


def test_the_offering_side_cannot_accept_its_own_offer(a, b, a_lot):
    a_api = auth_client(a.user)
    pid = a_api.post("/api/v1/operator/partnerships", offer_body(b, [a_lot]), format="json").json()["id"]
    res = a_api.post(f"/api/v1/operator/partnerships/{pid}/accept")
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"
    res = a_api.post("/api/v1/operator/partnerships", offer_body(b, [a_lot]), format="json")
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"


def test_a_cashier_reads_but_does_not_change(a, b, a_lot):
    pid = auth_client(a.user).post("/api/v1/operator/partnerships", offer_body(b, [a_lot]), format="json").json()["id"]
    cashier = OperatorFactory(organization=b.organization, role=Operator.Role.CASHIER)
    api = auth_client(cashier.user)
    assert api.get(f"/api/v1/operator/partnerships/{pid}").status_code == 200
    res = api.post(f"/api/v1/operator/partnerships/{pid}/accept")
    assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"


def test_a_customer_is_refused(customer):
    res = auth_client(customer).get("/api/v1/operator/partnerships")
    assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"partner": "No such org"}, "partner"),
        ({"lots": []}, "lots"),
        ({"lots": ["1"]}, "lots"),
        ({"benefit_types": ["cashback"]}, "benefit_types"),
        ({"settlement_price": -1}, "settlement_price"),
        ({"settlement_price": "250"}, "settlement_price"),
        ({"monthly_cap": 0}, "monthly_cap"),
        ({"valid_from": "2026-05-01T08:00:00"}, "valid_from"),
        ({"valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
        ({"valid_from": "2099-01-02T00:00:00Z", "valid_until": "2099-01-01T00:00:00Z"}, "valid_until"),
    ],
)
def test_bad_offers_are_validation_errors(a, b, a_lot, change, field):
    res = auth_client(a.user).post("/api/v1/operator/partnerships", offer_body(b, [a_lot], change), format="json")
    assert res.status_code == 400, res.content
    assert res.json()["error"]["code"] == "validation_error" and field in res.json()["error"]["details"]


def test_another_organizations_lot_or_itself_is_refused(a, b, a_lot):
    b_lot = stays.lot_create(organization=b.organization, name="Theirs", capacity=3, tariff=TariffRule())
    api = auth_client(a.user)
    res = api.post("/api/v1/operator/partnerships", offer_body(b, [b_lot]), format="json")
    assert res.status_code == 400 and "lots" in res.json()["error"]["details"]
    res = api.post("/api/v1/operator/partnerships", offer_body(a, [a_lot]), format="json")
    assert res.status_code == 400 and "partner" in res.json()["error"]["details"]


@pytest.mark.parametrize("month", ["2026-1", "202601", "2026-13", "abcd-ef", "２０２６-01"])
def test_a_bad_month_is_a_validation_error(a, b, a_lot, month):
    api = auth_client(a.user)
    pid = api.post("/api/v1/operator/partnerships", offer_body(b, [a_lot]), format="json").json()["id"]
    res = api.get(f"/api/v1/operator/partnerships/{pid}/statements/{month}")
    assert res.status_code == 400 and res.json()["error"]["details"] == {"month": ["Give the month as YYYY-MM."]}
