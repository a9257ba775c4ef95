from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from parking.models import ParkingPayment, ParkingSession, Vehicle
from parking.services import payments, stays, vehicles
from tests.conftest import auth_client
from tests.factories import UserFactory, WalletFactory

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


def _code(res, status, code):
    assert res.status_code == status, res.content
    assert res.json()["error"]["code"] == code


def test_register_vehicle(cust_client, customer):
    res = cust_client.post("/api/v1/vehicles", {"plate": "粤b 12345", "auto_pay": True}, format="json")
    assert res.status_code == 201, res.content
    assert res.json()["plate"] == "粤B12345" and res.json()["auto_pay"] is True
    assert cust_client.get("/api/v1/vehicles").json()[0]["plate"] == "粤B12345"
    assert Vehicle.objects.get().user == customer


def test_registering_again_updates_auto_pay(cust_client):
    cust_client.post("/api/v1/vehicles", {"plate": "粤B12345", "auto_pay": True}, format="json")
    res = cust_client.post("/api/v1/vehicles", {"plate": "粤B12345", "auto_pay": False}, format="json")
    assert res.status_code == 200 and res.json()["auto_pay"] is False
    assert Vehicle.objects.count() == 1


def test_a_plate_belongs_to_one_customer(cust_client):
    cust_client.post("/api/v1/vehicles", {"plate": "粤B12345"}, format="json")
    other = auth_client(UserFactory())
    _code(other.post("/api/v1/vehicles", {"plate": "粤B12345"}, format="json"), 409, "plate_taken")
    assert other.get("/api/v1/vehicles").json() == []


def test_vehicle_toggle_and_remove_are_scoped(cust_client):
    vid = cust_client.post("/api/v1/vehicles", {"plate": "粤B12345"}, format="json").json()["id"]
    other = auth_client(UserFactory())
    _code(other.patch(f"/api/v1/vehicles/{vid}", {"auto_pay": True}, format="json"), 404, "not_found")
    _code(other.delete(f"/api/v1/vehicles/{vid}"), 404, "not_found")
    assert cust_client.patch(f"/api/v1/vehicles/{vid}", {"auto_pay": True}, format="json").json()["auto_pay"] is True
    assert cust_client.delete(f"/api/v1/vehicles/{vid}").status_code == 204
    assert not Vehicle.objects.exists()


def test_bad_vehicle_plate_is_400(cust_client):
    _code(cust_client.post("/api/v1/vehicles", {"plate": "NOPE"}, format="json"), 400, "validation_error")


def test_sessions_of_my_plates_only(cust_client, customer, lot):
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    stays.session_enter(lot=lot, plate="粤B99999", at=ago(100))
    sessions = cust_client.get("/api/v1/parking/sessions").json()
    assert [s["plate"] for s in sessions] == ["粤B12345"]
    assert sessions[0]["fee"] == 900 and sessions[0]["status"] == "open"
    foreign = ParkingSession.objects.get(plate="粤B99999")
    _code(cust_client.get(f"/api/v1/parking/sessions/{foreign.pk}/fee"), 404, "not_found")


def test_registering_a_parked_plate_claims_its_open_session(cust_client, customer, lot):
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    cust_client.post("/api/v1/vehicles", {"plate": "粤B12345"}, format="json")
    assert ParkingSession.objects.get().user == customer


def _parked(customer, lot, minutes=100, auto_pay=False):
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=auto_pay)
    return stays.session_enter(lot=lot, plate="粤B12345", at=ago(minutes))


def test_fee_creates_then_refreshes_one_payment(cust_client, customer, lot):
    session = _parked(customer, lot)
    first = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert first["fee"] == 900
    assert first["payment"] == {
        **first["payment"],
        "session": session.pk,
        "fee": 900,
        "discount": 0,
        "amount": 900,
        "status": "unpaid",
        "coupon": None,
    }
    ParkingSession.objects.filter(pk=session.pk).update(entered_at=ago(125))
    second = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert second["payment"]["id"] == first["payment"]["id"]
    assert second["payment"]["amount"] == 1100
    assert ParkingPayment.objects.count() == 1


def test_fee_during_free_minutes_has_no_payment(cust_client, customer, lot):
    session = _parked(customer, lot, minutes=5)
    body = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert body["fee"] == 0 and body["payment"] is None


def test_pay_from_wallet(cust_client, customer, lot):
    fund(customer, 2000)
    session = _parked(customer, lot)
    pid = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()["payment"]["id"]
    res = cust_client.post(f"/api/v1/parking/payments/{pid}/pay", {"coupon": None}, format="json")
    assert res.status_code == 200, res.content
    body = res.json()
    assert {k: body[k] for k in ("id", "session", "fee", "discount", "amount", "status", "coupon")} == {
        "id": pid,
        "session": session.pk,
        "fee": 900,
        "discount": 0,
        "amount": 900,
        "status": "paid",
        "coupon": None,
    }
    assert balance(customer) == 1100
    from wallet.models import LedgerEntry

    entry = LedgerEntry.objects.get(kind="parking_payment")
    assert entry.amount == -900 and entry.idempotency_key == f"parking_payment:{pid}"
    _code(cust_client.post(f"/api/v1/parking/payments/{pid}/pay", {}, format="json"), 409, "invalid_state")


def test_pay_short_wallet_is_insufficient_funds_and_changes_nothing(cust_client, customer, lot):
    fund(customer, 100)
    session = _parked(customer, lot)
    pid = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()["payment"]["id"]
    _code(cust_client.post(f"/api/v1/parking/payments/{pid}/pay", {}, format="json"), 409, "insufficient_funds")
    assert ParkingPayment.objects.get().status == "unpaid"
    assert balance(customer) == 100


def test_pay_retry_with_idempotency_key_charges_once(cust_client, customer, lot):
    fund(customer, 5000)
    session = _parked(customer, lot)
    pid = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()["payment"]["id"]
    url = f"/api/v1/parking/payments/{pid}/pay"
    a = cust_client.post(url, {"coupon": None}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    b = cust_client.post(url, {"coupon": None}, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert a.status_code == b.status_code == 200 and a.json() == b.json()
    assert balance(customer) == 4100


def test_another_customers_payment_is_404(customer, lot):
    session = _parked(customer, lot)
    snap, payment = payments.payment_refresh(session=session)
    intruder = UserFactory()
    WalletFactory(user=intruder, balance=10_000)
    client = auth_client(intruder)
    _code(client.post(f"/api/v1/parking/payments/{payment.pk}/pay", {}, format="json"), 404, "not_found")
    _code(client.get(f"/api/v1/parking/payments/{payment.pk}"), 404, "not_found")


def test_bad_coupon_id_is_400(cust_client, customer, lot):
    session = _parked(customer, lot)
    _, payment = payments.payment_refresh(session=session)
    _code(
        cust_client.post(f"/api/v1/parking/payments/{payment.pk}/pay", {"coupon": "abc"}, format="json"),
        400,
        "validation_error",
    )


def test_leaving_within_the_grace_period_pays_nothing_more(customer, lot, op_client):
    fund(customer, 5000)
    session = _parked(customer, lot, minutes=100)
    _, payment = payments.payment_refresh(session=session)
    payments.payment_pay(payment_id=payment.pk, user=customer)
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/exits",
        {"plate": "粤B12345", "at": (timezone.now() + timedelta(minutes=4)).isoformat()},
        format="json",
    )
    body = res.json()
    assert body["gate"] == "open" and body["due"] == 0 and body["fee"] == 900
    assert balance(customer) == 4100


def _time_passes(session, minutes):
    """Move a stay and its payments back in time, as if `minutes` had passed."""
    delta = timedelta(minutes=minutes)
    ParkingSession.objects.filter(pk=session.pk).update(entered_at=F("entered_at") - delta)
    ParkingPayment.objects.filter(session=session).update(
        priced_until=F("priced_until") - delta, paid_at=F("paid_at") - delta
    )


@pytest.mark.parametrize(("later", "due"), [(14, 0), (16, 200), (30, 200), (31, 400)])
def test_staying_past_the_grace_period_owes_the_difference(customer, lot, later, due):
    # Paid after 119 minutes (900); the grace period is 15 minutes; then 1100 from 121 minutes on,
    # 1300 from 151 minutes on (the stay runs a few milliseconds past whole minutes).
    fund(customer, 5000)
    session = _parked(customer, lot, minutes=119)
    _, payment = payments.payment_refresh(session=session)
    payments.payment_pay(payment_id=payment.pk, user=customer)
    _time_passes(session, later)
    result = stays.session_exit(lot=lot, plate="粤B12345", at=timezone.now())
    assert result.due == due
    assert result.fee == 900 + due
    assert result.barrier == ("open" if due == 0 else "pay_required")


def test_a_second_fee_query_after_paying_prices_only_the_extra_time(cust_client, customer, lot):
    fund(customer, 5000)
    session = _parked(customer, lot, minutes=100)
    _, payment = payments.payment_refresh(session=session)
    payments.payment_pay(payment_id=payment.pk, user=customer)
    within = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert within["due"] == 0 and within["payment"]["status"] == "paid" and within["leave_by"]
    _time_passes(session, 20)
    after = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert after["fee"] == 1100 and after["due"] == 200
    assert after["payment"]["amount"] == 200 and after["payment"]["status"] == "unpaid"
    res = cust_client.post(f"/api/v1/parking/payments/{after['payment']['id']}/pay", {}, format="json")
    assert res.json()["amount"] == 200
    assert balance(customer) == 5000 - 1100


def test_fee_query_count(cust_client, customer, lot, django_assert_max_num_queries):
    session = _parked(customer, lot)
    with django_assert_max_num_queries(12):
        assert cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").status_code == 200


def test_sessions_list_query_count(cust_client, customer, lot, django_assert_max_num_queries):
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    for i in range(5):
        stays.session_enter(lot=lot, plate="粤B12345", at=ago(500 - i * 60))
        stays.session_exit(lot=lot, plate="粤B12345", at=ago(480 - i * 60))
    with django_assert_max_num_queries(4):  # token, sessions, tariffs, payments: not one per row
        assert len(cust_client.get("/api/v1/parking/sessions").json()) == 5


@pytest.mark.parametrize("raw", ["null", "[]", '"x"', '{"coupon": 12}', '{"coupon": true}'])
def test_pay_with_a_bad_body_is_400(cust_client, customer, lot, raw):
    session = _parked(customer, lot)
    _, payment = payments.payment_refresh(session=session)
    res = cust_client.post(f"/api/v1/parking/payments/{payment.pk}/pay", data=raw, content_type="application/json")
    _code(res, 400, "validation_error")
    payment.refresh_from_db()
    assert payment.status == "unpaid"


@pytest.mark.parametrize("plate", ["使014578", "MA-12-34", "KA12345"])
def test_vehicle_registration_keeps_the_mainland_rule_by_default(cust_client, plate):
    res = cust_client.post("/api/v1/vehicles", {"plate": plate}, format="json")
    _code(res, 400, "validation_error")
    assert "粤B12345" in res.json()["error"]["details"]["plate"][0]
    assert cust_client.get("/api/v1/vehicles").json() == []


def test_vehicle_registration_takes_any_plate_when_the_rule_is_any(cust_client, settings):
    settings.VEHICLE_PLATE_RULE = "any"
    res = cust_client.post("/api/v1/vehicles", {"plate": "ma-12-34"}, format="json")
    assert res.status_code == 201, res.content
    assert res.json()["plate"] == "MA1234"
    res = cust_client.post("/api/v1/vehicles", {"plate": "X" * 17}, format="json")
    _code(res, 400, "validation_error")
    assert "plate" in res.json()["error"]["details"]


def test_an_unknown_plate_rule_is_a_configuration_error(customer, settings):
    from django.core.exceptions import ImproperlyConfigured

    from parking.services.vehicles import vehicle_register

    settings.VEHICLE_PLATE_RULE = "eu"
    with pytest.raises(ImproperlyConfigured):
        vehicle_register(user=customer, plate="粤B12345")
