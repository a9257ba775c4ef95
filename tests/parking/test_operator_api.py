from datetime import timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from parking.models import Lot, ParkingPayment, ParkingSession
from tests.conftest import auth_client
from tests.factories import LotFactory, OperatorFactory, UserFactory

from .conftest import ago

pytestmark = pytest.mark.django_db

TARIFF = {
    "free_minutes": 15,
    "first_minutes": 60,
    "first_price": 500,
    "unit_minutes": 30,
    "unit_price": 200,
    "cap_per_24h": 3000,
}


def _code(res, status, code):
    assert res.status_code == status, res.content
    assert res.json()["error"]["code"] == code
    return res.json()["error"]


def test_create_lot(op_client, operator):
    res = op_client.post("/api/v1/operator/lots", {"name": "East", "capacity": 50, "tariff": TARIFF}, format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert {"id", "name", "capacity", "tariff"} <= set(body)
    assert body["name"] == "East" and body["capacity"] == 50 and body["tariff"] == TARIFF
    assert Lot.objects.get(pk=body["id"]).organization == operator.organization


def test_create_lot_with_vehicle_types_and_night_rate(op_client):
    night = {"start": "22:00", "end": "07:00", "unit_price": 100, "cap": 800}
    res = op_client.post(
        "/api/v1/operator/lots",
        {
            "name": "Harbour",
            "capacity": 5,
            "grace_minutes": 20,
            "tariff": {**TARIFF, "night": night},
            "tariffs": {"large": {**TARIFF, "first_price": 1000, "cap_per_24h": 6000}},
        },
        format="json",
    )
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["tariff"]["night"] == night
    assert body["tariffs"]["large"]["first_price"] == 1000
    assert body["grace_minutes"] == 20
    entered = timezone.now() - timedelta(hours=2)
    quote = op_client.post(
        f"/api/v1/operator/lots/{body['id']}/quote",
        {
            "entered_at": entered.isoformat(),
            "exited_at": (entered + timedelta(minutes=30)).isoformat(),
            "vehicle_type": "large",
        },
        format="json",
    )
    assert quote.json() == {"fee": 1000}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "capacity": 10, "tariff": {**TARIFF, "unit_minutes": 0}}, "tariff"),
        ({"name": "X", "capacity": 10, "tariff": {**TARIFF, "cap_per_24h": 100}}, "tariff"),
        ({"name": "X", "capacity": 0, "tariff": TARIFF}, "capacity"),
        ({"name": "X", "capacity": 10, "tariff": "cheap"}, "tariff"),
        ({"name": "X", "capacity": 10, "tariff": TARIFF, "tariffs": {"bus": TARIFF}}, "tariffs"),
        ({"capacity": 10, "tariff": TARIFF}, "name"),
    ],
)
def test_invalid_lot_is_400_with_details(op_client, body, field):
    err = _code(op_client.post("/api/v1/operator/lots", body, format="json"), 400, "validation_error")
    assert field in err["details"]
    assert not Lot.objects.filter(name="X").exists()


def test_invalid_tariff_details_name_the_tariff_field(op_client):
    res = op_client.post(
        "/api/v1/operator/lots", {"name": "X", "capacity": 1, "tariff": {**TARIFF, "cap_per_24h": 1}}, format="json"
    )
    assert "cap_per_24h" in _code(res, 400, "validation_error")["details"]["tariff"]


def test_duplicate_lot_name_is_400(op_client, lot):
    _code(
        op_client.post("/api/v1/operator/lots", {"name": lot.name, "capacity": 1, "tariff": TARIFF}, format="json"),
        400,
        "validation_error",
    )


def test_customer_cannot_use_operator_api(db):
    client = auth_client(UserFactory())
    _code(
        client.post("/api/v1/operator/lots", {"name": "X", "capacity": 1, "tariff": TARIFF}, format="json"),
        403,
        "permission_denied",
    )


def test_cashier_cannot_create_lots_but_records_camera_events(lot):
    cashier = OperatorFactory(organization=lot.organization, role="cashier")
    client = auth_client(cashier.user)
    _code(
        client.post("/api/v1/operator/lots", {"name": "X", "capacity": 1, "tariff": TARIFF}, format="json"),
        403,
        "permission_denied",
    )
    res = client.post(
        f"/api/v1/operator/lots/{lot.pk}/entries", {"plate": "粤B12345", "at": ago(5).isoformat()}, format="json"
    )
    assert res.status_code == 201


def test_quote(op_client, lot):
    entered = timezone.now()
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/quote",
        {"entered_at": entered.isoformat(), "exited_at": (entered + timedelta(minutes=100)).isoformat()},
        format="json",
    )
    assert res.status_code == 200 and res.json() == {"fee": 900}
    assert not ParkingSession.objects.exists()


def test_quote_exit_before_entry_is_400(op_client, lot):
    entered = timezone.now()
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/quote",
        {"entered_at": entered.isoformat(), "exited_at": (entered - timedelta(minutes=1)).isoformat()},
        format="json",
    )
    assert "exited_at" in _code(res, 400, "validation_error")["details"]


def test_quote_longer_than_a_year_is_400(op_client, lot):
    entered = timezone.now()
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/quote",
        {"entered_at": entered.isoformat(), "exited_at": (entered + timedelta(days=367)).isoformat()},
        format="json",
    )
    assert "exited_at" in _code(res, 400, "validation_error")["details"]


def test_quote_garbage_times_is_400(op_client, lot):
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/quote", {"entered_at": "yesterday", "exited_at": 5}, format="json"
    )
    assert set(_code(res, 400, "validation_error")["details"]) == {"entered_at", "exited_at"}


def test_other_organizations_lot_is_404(op_client):
    foreign = LotFactory()
    at = ago(5).isoformat()
    for suffix, body in [
        ("quote", {"entered_at": at, "exited_at": at}),
        ("entries", {"plate": "粤B12345", "at": at}),
        ("exits", {"plate": "粤B12345", "at": at}),
    ]:
        _code(op_client.post(f"/api/v1/operator/lots/{foreign.pk}/{suffix}", body, format="json"), 404, "not_found")
    _code(
        op_client.post("/api/v1/operator/lots/999999/entries", {"plate": "粤B12345", "at": at}, format="json"),
        404,
        "not_found",
    )
    assert not ParkingSession.objects.exists()


def _enter(client, lot, plate="粤B12345", minutes_ago=100):
    return client.post(
        f"/api/v1/operator/lots/{lot.pk}/entries", {"plate": plate, "at": ago(minutes_ago).isoformat()}, format="json"
    )


def _exit(client, lot, plate="粤B12345", minutes_ago=0):
    return client.post(
        f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": plate, "at": ago(minutes_ago).isoformat()}, format="json"
    )


def test_entry_normalizes_the_plate_and_counts_occupancy(op_client, lot):
    res = _enter(op_client, lot, plate=" 粤b·123.45 ")
    assert res.status_code == 201, res.content
    session = res.json()["session"]
    assert {"id", "lot", "plate", "entered_at", "exited_at", "fee", "paid", "status"} <= set(session)
    assert session["plate"] == "粤B12345" and session["status"] == "open" and session["lot"] == lot.pk
    lot.refresh_from_db()
    assert lot.occupancy == 1


def test_new_energy_plate_enters_as_new_energy(op_client, lot):
    res = _enter(op_client, lot, plate="粤BD12345")
    assert res.status_code == 201 and res.json()["session"]["vehicle_type"] == "new_energy"


def test_second_entry_is_already_parked(op_client, lot):
    assert _enter(op_client, lot).status_code == 201
    _code(_enter(op_client, lot, plate="粤B 12345", minutes_ago=50), 409, "already_parked")
    lot.refresh_from_db()
    assert lot.occupancy == 1


def test_one_open_session_per_plate_and_lot_is_a_database_constraint(lot):
    ParkingSession.objects.create(lot=lot, plate="粤B12345", entered_at=timezone.now())
    with pytest.raises(IntegrityError):
        ParkingSession.objects.create(lot=lot, plate="粤B12345", entered_at=timezone.now())


def test_full_lot_refuses_entry(op_client, operator):
    from parking.services import stays
    from parking.tariffs import TariffRule

    small = stays.lot_create(organization=operator.organization, name="Tiny", capacity=1, tariff=TariffRule())
    assert _enter(op_client, small, plate="粤B11111").status_code == 201
    _code(_enter(op_client, small, plate="粤B22222"), 409, "lot_full")
    assert not ParkingSession.objects.filter(plate="粤B22222").exists()
    assert _exit(op_client, small, plate="粤B11111").status_code == 200
    assert _enter(op_client, small, plate="粤B22222", minutes_ago=0).status_code == 201


@pytest.mark.parametrize("plate", ["", " · ", "x" * 17, "x" * 40, None, 12345])
def test_bad_plates_are_400(op_client, lot, plate):
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/entries", {"plate": plate, "at": ago(1).isoformat()}, format="json"
    )
    assert "plate" in _code(res, 400, "validation_error")["details"]


def test_far_future_times_are_400(op_client, lot):
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    res = op_client.post(f"/api/v1/operator/lots/{lot.pk}/entries", {"plate": "粤B12345", "at": future}, format="json")
    _code(res, 400, "validation_error")
    assert _enter(op_client, lot).status_code == 201
    res = op_client.post(f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": "粤B12345", "at": future}, format="json")
    _code(res, 400, "validation_error")


def test_exit_before_entry_is_400(op_client, lot):
    assert _enter(op_client, lot, minutes_ago=10).status_code == 201
    _code(_exit(op_client, lot, minutes_ago=20), 400, "validation_error")
    assert ParkingSession.objects.get().status == "open"


def test_entry_before_the_last_exit_is_400(op_client, lot):
    assert _enter(op_client, lot, minutes_ago=100).status_code == 201
    assert _exit(op_client, lot, minutes_ago=50).status_code == 200
    _code(_enter(op_client, lot, minutes_ago=60), 400, "validation_error")


def test_exit_without_entry_is_not_parked(op_client, lot):
    _code(_exit(op_client, lot), 409, "not_parked")


def test_exit_of_an_unregistered_car_requires_payment(op_client, lot):
    assert _enter(op_client, lot, minutes_ago=100).status_code == 201
    res = _exit(op_client, lot)
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["fee"] == 900 and body["due"] == 900 and body["gate"] == "pay_required"
    assert body["session"]["status"] == "closed" and body["session"]["fee"] == 900
    assert body["payment"]["amount"] == 900 and body["payment"]["status"] == "unpaid"
    lot.refresh_from_db()
    assert lot.occupancy == 0
    assert ParkingPayment.objects.get().amount == 900


def test_exit_within_free_minutes_opens_the_barrier(op_client, lot):
    assert _enter(op_client, lot, minutes_ago=10).status_code == 201
    body = _exit(op_client, lot).json()
    assert body["fee"] == 0 and body["due"] == 0 and body["gate"] == "open" and body["payment"] is None
    assert not ParkingPayment.objects.exists()


def test_camera_event_retry_with_idempotency_key_replays(op_client, lot):
    body = {"plate": "粤B12345", "at": ago(5).isoformat()}
    url = f"/api/v1/operator/lots/{lot.pk}/entries"
    first = op_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="cam-1-evt-9")
    second = op_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="cam-1-evt-9")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert ParkingSession.objects.count() == 1


def test_exit_query_count(op_client, lot, django_assert_max_num_queries):
    assert _enter(op_client, lot).status_code == 201
    with django_assert_max_num_queries(23):  # camera event, session, lot, payment (no debit), merchant coupon
        assert _exit(op_client, lot).status_code == 200


def test_a_tariff_change_does_not_reprice_a_stay_under_way(op_client, lot):
    from parking.models import Tariff

    assert _enter(op_client, lot, plate="粤B11111", minutes_ago=100).status_code == 201
    Tariff.objects.filter(lot=lot).update(first_price=1000, cap_per_24h=5000)
    assert _enter(op_client, lot, plate="粤B22222", minutes_ago=100).status_code == 201
    assert _exit(op_client, lot, plate="粤B11111").json()["fee"] == 900  # the tariff at its entry
    assert _exit(op_client, lot, plate="粤B22222").json()["fee"] == 1400  # the new one


@pytest.mark.parametrize("raw", ["null", "[]", '"plate"', "42", "{bad json"])
def test_non_object_bodies_are_400(op_client, cust_client, lot, raw):
    for client, url in [
        (op_client, "/api/v1/operator/lots"),
        (op_client, f"/api/v1/operator/lots/{lot.pk}/quote"),
        (op_client, f"/api/v1/operator/lots/{lot.pk}/entries"),
        (op_client, f"/api/v1/operator/lots/{lot.pk}/exits"),
        (cust_client, "/api/v1/vehicles"),
    ]:
        res = client.post(url, data=raw, content_type="application/json")
        _code(res, 400, "validation_error")


def test_lot_sessions_by_status(op_client, lot, django_assert_max_num_queries):
    _enter(op_client, lot, plate="粤B11111", minutes_ago=100)
    _exit(op_client, lot, plate="粤B11111", minutes_ago=50)  # unregistered: its fee stays unpaid
    _enter(op_client, lot, plate="粤B22222", minutes_ago=10)
    url = f"/api/v1/operator/lots/{lot.pk}/sessions"
    with django_assert_max_num_queries(8):
        assert [s["plate"] for s in op_client.get(url).json()] == ["粤B22222", "粤B11111"]
    assert [s["plate"] for s in op_client.get(url + "?status=open").json()] == ["粤B22222"]
    unpaid = op_client.get(url + "?status=unpaid").json()
    assert [(s["plate"], s["due"]) for s in unpaid] == [("粤B11111", 500)]  # 50 minutes
    _code(op_client.get(url + "?status=weird"), 400, "validation_error")
    _code(op_client.get(f"/api/v1/operator/lots/{LotFactory().pk}/sessions"), 404, "not_found")


def test_operator_lists_their_lots(op_client, lot):
    LotFactory()  # another organization's
    assert [item["id"] for item in op_client.get("/api/v1/operator/lots").json()] == [lot.pk]
    assert op_client.get(f"/api/v1/operator/lots/{lot.pk}").json()["name"] == lot.name


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00", "0001-01-01"])
def test_times_out_of_range_are_400(op_client, lot, value):
    """A time without an offset is read in the product's time zone; one that falls off the calendar
    there is a validation error, not a server error."""
    base = f"/api/v1/operator/lots/{lot.pk}"
    for url, body in (
        (f"{base}/quote", {"entered_at": value, "exited_at": "2026-01-01T00:00:00+08:00"}),
        (f"{base}/quote", {"entered_at": "2026-01-01T00:00:00+08:00", "exited_at": value}),
        (f"{base}/entries", {"plate": "粤B12345", "at": value}),
        (f"{base}/exits", {"plate": "粤B12345", "at": value}),
    ):
        res = op_client.post(url, body, format="json")
        assert res.status_code == 400, (url, body, res.content)
        assert res.json()["error"]["code"] == "validation_error"


def test_a_small_car_tariff_that_contradicts_the_tariff_is_400(op_client):
    """`tariff` is the lot's (small-car) tariff; `tariffs.small`, when given, must say the same, or
    the lot would answer with a tariff other than the one sent."""
    body = {"name": "Twice", "capacity": 5, "tariff": TARIFF, "tariffs": {"small": {**TARIFF, "first_price": 900}}}
    res = op_client.post("/api/v1/operator/lots", body, format="json")
    assert res.status_code == 400 and "tariffs" in res.json()["error"]["details"]
    same = {**body, "name": "Same", "tariffs": {"small": TARIFF}}
    res = op_client.post("/api/v1/operator/lots", same, format="json")
    assert res.status_code == 201 and res.json()["tariff"]["first_price"] == TARIFF["first_price"]


@pytest.mark.parametrize(
    "change",
    [{"capacity": "50"}, {"capacity": 50.0}, {"capacity": True}, {"grace_minutes": "20"}, {"grace_minutes": 20.0}],
)
def test_lot_quantities_are_json_integers(op_client, change):
    body = {"name": "East", "capacity": 50, "tariff": TARIFF, **change}
    err = _code(op_client.post("/api/v1/operator/lots", body, format="json"), 400, "validation_error")
    assert set(change) <= set(err["details"])
    assert not Lot.objects.filter(name="East").exists()


@pytest.mark.parametrize("field", ["first_price", "unit_minutes"])
@pytest.mark.parametrize("value", ["500", 500.0, True])
def test_tariff_fields_are_json_integers(op_client, field, value):
    body = {"name": "East", "capacity": 50, "tariff": {**TARIFF, field: value}}
    err = _code(op_client.post("/api/v1/operator/lots", body, format="json"), 400, "validation_error")
    assert field in err["details"]["tariff"]


@pytest.mark.parametrize("kind", ["entries", "exits"])
def test_a_camera_time_without_offset_is_refused(op_client, lot, kind):
    naive = ago(5).astimezone().replace(tzinfo=None).isoformat()
    err = _code(
        op_client.post(f"/api/v1/operator/lots/{lot.pk}/{kind}", {"plate": "粤B12345", "at": naive}, format="json"),
        400,
        "validation_error",
    )
    assert "UTC offset" in err["details"]["at"][0]
    assert not ParkingSession.objects.exists()


def test_a_quote_without_offsets_is_refused(op_client, lot):
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/quote",
        {"entered_at": "2026-05-01T08:00:00", "exited_at": "2026-05-01T09:00:00+08:00"},
        format="json",
    )
    assert "entered_at" in _code(res, 400, "validation_error")["details"]


@pytest.mark.parametrize(
    ("plate", "kind"),
    [
        ("使014578", "embassy"),
        ("沪A1234领", "consulate"),
        ("KA12345", "military"),
        ("WJ粤12345", "armed_police"),
        ("粤B临1234", "temporary"),
        ("粤Z1234港", "hong_kong"),
        ("MA-12-34", "macau"),
        ("B MW 1234", "foreign"),
    ],
)
def test_the_gate_takes_any_plate_the_camera_read_and_flags_the_unusual(op_client, lot, plate, kind):
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/entries", {"plate": plate, "at": ago(30).isoformat()}, format="json"
    )
    assert res.status_code == 201, res.content
    session = res.json()["session"]
    assert (session["plate_kind"], session["plate_unusual"]) == (kind, True)
    assert ParkingSession.objects.get(pk=session["id"]).plate_kind == kind
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": plate.lower(), "at": ago(1).isoformat()}, format="json"
    )
    assert res.status_code == 200, res.content
    assert res.json()["session"]["status"] == "closed" and res.json()["gate"] == "pay_required"


def test_a_mainland_plate_is_not_flagged(op_client, lot):
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/entries", {"plate": "粤B12345", "at": ago(5).isoformat()}, format="json"
    )
    assert (res.json()["session"]["plate_kind"], res.json()["session"]["plate_unusual"]) == ("mainland", False)
