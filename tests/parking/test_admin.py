import pytest

from parking.models import ParkingSession
from parking.services import stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory

from .conftest import ago, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_web(client, operator):
    client.force_login(operator.user)
    return client


@pytest.fixture
def foreign_lot():
    op = OperatorFactory()
    return stays.lot_create(organization=op.organization, name="Elsewhere", capacity=3, tariff=TariffRule())


def _activity(lot, customer):
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(200))
    stays.session_exit(lot=lot, plate="粤B12345", at=ago(100))  # 100 minutes, auto-debited 900
    stays.session_enter(lot=lot, plate="粤B99999", at=ago(100))
    stays.session_exit(lot=lot, plate="粤B99999", at=ago(1))  # unregistered: 900 unpaid
    stays.session_enter(lot=lot, plate="粤B77777", at=ago(10))  # parked


def test_lists_are_scoped_to_the_organization(admin_web, lot, foreign_lot, customer):
    _activity(lot, customer)
    stays.session_enter(lot=foreign_lot, plate="粤B55555", at=ago(5))
    lots = admin_web.get("/admin/parking/lot/").content.decode()
    assert "Central" in lots and "Elsewhere" not in lots
    sessions = admin_web.get("/admin/parking/parkingsession/").content.decode()
    assert "粤B77777" in sessions and "粤B55555" not in sessions
    foreign = ParkingSession.objects.get(plate="粤B55555")
    assert admin_web.get(f"/admin/parking/parkingsession/{foreign.pk}/change/").status_code in (302, 404)
    assert admin_web.get("/admin/parking/parkingpayment/").status_code == 200


def test_unpaid_and_open_filters(admin_web, lot, customer):
    _activity(lot, customer)
    unpaid = admin_web.get("/admin/parking/parkingsession/?unpaid=yes").content.decode()
    assert "粤B99999" in unpaid and "粤B12345" not in unpaid
    parked = admin_web.get("/admin/parking/parkingsession/?status__exact=open").content.decode()
    assert "粤B77777" in parked and "粤B99999" not in parked


def test_lot_report_shows_occupancy_and_revenue(admin_web, lot, customer):
    _activity(lot, customer)
    res = admin_web.get(f"/admin/parking/lot/{lot.pk}/report/")
    assert res.status_code == 200
    html = res.content.decode()
    assert "1 / 10" in html  # one car parked
    assert 'data-testid="revenue-total">¥9.00' in html  # the auto-debited stay
    assert "¥9.00" in html.split("Unpaid fees")[1]  # the unregistered car's fee


def test_report_of_another_organizations_lot_is_404(admin_web, foreign_lot):
    assert admin_web.get(f"/admin/parking/lot/{foreign_lot.pk}/report/").status_code == 404


def test_sessions_cannot_be_edited_in_the_admin(admin_web, lot):
    stays.session_enter(lot=lot, plate="粤B77777", at=ago(10))
    session = ParkingSession.objects.get()
    res = admin_web.post(f"/admin/parking/parkingsession/{session.pk}/change/", {"plate": "粤B00000"})
    assert res.status_code == 403
    session.refresh_from_db()
    assert session.plate == "粤B77777"


def test_capacity_cannot_drop_below_the_cars_parked(admin_web, lot):
    for i in range(3):
        stays.session_enter(lot=lot, plate=f"粤B1111{i}", at=ago(10))
    res = admin_web.post(
        f"/admin/parking/lot/{lot.pk}/change/",
        {
            "name": lot.name,
            "capacity": 2,
            "grace_minutes": 15,
            "tariffs-TOTAL_FORMS": "0",
            "tariffs-INITIAL_FORMS": "0",
            "tariffs-MIN_NUM_FORMS": "0",
            "tariffs-MAX_NUM_FORMS": "1000",
        },
    )
    assert res.status_code == 200 and "capacity cannot be lower" in res.content.decode()
    lot.refresh_from_db()
    assert lot.capacity == 10


def test_operator_adds_a_lot_with_a_tariff_in_the_admin(admin_web, operator):
    from parking.models import Lot

    res = admin_web.post("/admin/parking/lot/add/", _tariff_form(first_price="6.00"))
    assert res.status_code == 302, res.content.decode()[:2000]
    lot = Lot.objects.get(name="Admin-made")
    assert lot.organization == operator.organization and lot.tariffs.get().first_price == 600


def test_session_page_shows_its_payments(admin_web, lot, customer):
    _activity(lot, customer)
    session = ParkingSession.objects.get(plate="粤B99999")
    html = admin_web.get(f"/admin/parking/parkingsession/{session.pk}/change/").content.decode()
    assert "Parking payments" in html and "unpaid" in html.lower()


def test_recount_occupancy_action(admin_web, lot):
    from parking.models import Lot

    stays.session_enter(lot=lot, plate="粤B77777", at=ago(10))
    Lot.objects.filter(pk=lot.pk).update(occupancy=7)  # drift
    res = admin_web.post(
        "/admin/parking/lot/", {"action": "recount_occupancy", "_selected_action": [lot.pk]}, follow=True
    )
    assert "1 cars parked" in res.content.decode()
    lot.refresh_from_db()
    assert lot.occupancy == 1


def test_list_filters_offer_only_the_organizations_lots(admin_web, lot, foreign_lot):
    """The lot filter of the session and payment lists names this organization's lots only: another
    organization's lot names never reach the page."""
    for where in (lot, foreign_lot):
        stays.session_enter(lot=where, plate="粤B77777", at=ago(100))
        stays.session_exit(lot=where, plate="粤B77777", at=ago(1))  # unregistered: an unpaid payment
    for url in ("/admin/parking/parkingsession/", "/admin/parking/parkingpayment/"):
        res = admin_web.get(url)
        html = res.content.decode()
        assert res.status_code == 200 and "Central" in html and "Elsewhere" not in html, url


def _tariff_form(**overrides):
    data = {
        "name": "Admin-made",
        "capacity": 30,
        "grace_minutes": 10,
        "tariffs-TOTAL_FORMS": "1",
        "tariffs-INITIAL_FORMS": "0",
        "tariffs-MIN_NUM_FORMS": "0",
        "tariffs-MAX_NUM_FORMS": "1000",
        "tariffs-0-vehicle_type": "small",
        "tariffs-0-free_minutes": "15",
        "tariffs-0-first_minutes": "60",
        "tariffs-0-first_price": "5.00",  # money is typed in yuan
        "tariffs-0-unit_minutes": "30",
        "tariffs-0-unit_price": "2",
        "tariffs-0-cap_per_24h": "30.00",
    }
    data.update({f"tariffs-0-{k}": str(v) for k, v in overrides.items()})
    return data


@pytest.mark.parametrize(
    "override",
    [{"first_minutes": 2000}, {"free_minutes": 1441}, {"unit_price": "20000000.00", "cap_per_24h": "20000000.00"}],
)
def test_admin_refuses_a_tariff_the_engine_refuses(admin_web, override):
    """A tariff saved in the admin is priced by the same engine as the API's: values the engine
    refuses are form errors, not a lot whose cars can never leave (every exit would be a 400)."""
    from parking.models import Lot

    res = admin_web.post("/admin/parking/lot/add/", _tariff_form(**override))
    assert res.status_code == 200
    assert not Lot.objects.filter(name="Admin-made").exists()
    assert "Must be at most" in res.content.decode()


def test_a_lot_made_in_the_admin_prices_exits(admin_web, op_client):
    from parking.models import Lot

    assert admin_web.post("/admin/parking/lot/add/", _tariff_form(first_minutes=1440)).status_code == 302
    lot = Lot.objects.get(name="Admin-made")
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": "粤B12345", "at": ago(0).isoformat()}, format="json"
    )
    assert res.status_code == 200 and res.json()["fee"] == 500


def test_editing_a_lot_never_writes_back_a_stale_occupancy(admin_web, lot, monkeypatch):
    """The lot's row is read when the admin form is posted and saved after validation; a car that
    enters in between must still be counted (the save writes the form's fields, not occupancy)."""
    from parking.admin import LotForm
    from parking.models import Lot

    clean_capacity = LotForm.clean_capacity

    def a_car_enters_meanwhile(form):
        stays.session_enter(lot=Lot.objects.get(pk=lot.pk), plate="粤B77777", at=ago(1))
        return clean_capacity(form)

    monkeypatch.setattr(LotForm, "clean_capacity", a_car_enters_meanwhile)
    res = admin_web.post(
        f"/admin/parking/lot/{lot.pk}/change/",
        {
            "name": "Central renamed",
            "capacity": 10,
            "grace_minutes": 15,
            "tariffs-TOTAL_FORMS": "0",
            "tariffs-INITIAL_FORMS": "0",
            "tariffs-MIN_NUM_FORMS": "0",
            "tariffs-MAX_NUM_FORMS": "1000",
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    lot.refresh_from_db()
    assert lot.name == "Central renamed" and lot.occupancy == 1


def _lot_form(**data):
    return {
        "capacity": 3,
        "grace_minutes": 15,
        "tariffs-TOTAL_FORMS": "0",
        "tariffs-INITIAL_FORMS": "0",
        "tariffs-MIN_NUM_FORMS": "0",
        "tariffs-MAX_NUM_FORMS": "1000",
        **data,
    }


def test_a_second_lot_with_the_same_name_is_a_form_error(admin_web, lot, foreign_lot):
    from parking.models import Lot

    res = admin_web.post("/admin/parking/lot/add/", _lot_form(name="Central"))
    assert res.status_code == 200 and "already has a lot with this name" in res.content.decode()
    assert Lot.objects.filter(name="Central").count() == 1
    # Another organization's lot names are free to reuse.
    assert admin_web.post("/admin/parking/lot/add/", _lot_form(name="Elsewhere")).status_code == 302


def test_a_superuser_adds_a_lot_for_an_organization(client, operator):
    from django.contrib.auth import get_user_model

    from parking.models import Lot

    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "s3cure-pass-word"))
    res = client.post("/admin/parking/lot/add/", _lot_form(name="Platform-made", organization=operator.organization.pk))
    assert res.status_code == 302, res.content.decode()[:2000]
    assert Lot.objects.get(name="Platform-made").organization == operator.organization


def test_the_operator_sees_and_filters_unusual_plates(admin_web, lot):
    stays.session_enter(lot=lot, plate="使014578", at=ago(30))
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(20))
    listing = admin_web.get("/admin/parking/parkingsession/").content.decode()
    assert "Embassy" in listing and "Mainland civil" in listing
    flagged = admin_web.get("/admin/parking/parkingsession/?plate_kind__exact=embassy").content.decode()
    assert "使014578" in flagged and "粤B12345" not in flagged
