import pytest
from django.utils import timezone

from orders.models import Order
from parking.models import ParkingPayment, Vehicle
from parking.services import stays, vehicles
from tests.factories import OrderFactory, UserFactory, VoucherFactory

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, customer):
    client.force_login(customer)
    return client


def test_pages_need_a_login(client):
    for url in ["/parking/vehicles/", "/parking/sessions/", "/parking/sessions/1/pay/"]:
        res = client.get(url)
        assert res.status_code == 302 and "/accounts/login/" in res["Location"]


def test_add_vehicle_and_toggle_auto_pay(web, customer):
    res = web.post("/parking/vehicles/", {"plate": "粤b 12345", "auto_pay": "on"}, follow=True)
    assert res.status_code == 200
    vehicle = Vehicle.objects.get(user=customer)
    assert vehicle.plate == "粤B12345" and vehicle.auto_pay
    assert "粤B12345" in res.content.decode()
    web.post(f"/parking/vehicles/{vehicle.pk}/auto-pay/", {})
    vehicle.refresh_from_db()
    assert not vehicle.auto_pay
    web.post(f"/parking/vehicles/{vehicle.pk}/auto-pay/", {"auto_pay": "on"})
    vehicle.refresh_from_db()
    assert vehicle.auto_pay


def test_the_vehicle_form_speaks_chinese(web):
    page = web.get("/parking/vehicles/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "离场时从我的钱包自动付款" in page and "车型" in page
    assert "Pay automatically from my wallet" not in page


def test_bad_or_taken_plate_shows_the_error(web):
    res = web.post("/parking/vehicles/", {"plate": "nope"})
    assert res.status_code == 200 and "errorlist" in res.content.decode()
    vehicles.vehicle_register(user=UserFactory(), plate="粤B54321")
    res = web.post("/parking/vehicles/", {"plate": "粤B54321"})
    assert "registered to another account" in res.content.decode()


def test_toggling_someone_elses_vehicle_is_404(web):
    other, _ = vehicles.vehicle_register(user=UserFactory(), plate="粤B54321")
    assert web.post(f"/parking/vehicles/{other.pk}/auto-pay/", {"auto_pay": "on"}).status_code == 404


def test_sessions_page_shows_the_live_fee(web, customer, lot):
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    html = web.get("/parking/sessions/").content.decode()
    assert "¥9.00" in html and "粤B12345" in html


def test_pay_page_with_a_coupon(web, customer, lot):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    voucher = VoucherFactory(organization=lot.organization, benefit_type="amount", benefit_value=300, title="3 off")
    coupon = OrderFactory(user=customer, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
    foreign = OrderFactory(user=customer, status=Order.Status.PAID, paid_at=timezone.now())  # other organization
    page = web.get(f"/parking/sessions/{session.pk}/pay/")
    html = page.content.decode()
    assert str(coupon.pk) in html and str(foreign.pk) not in html
    assert 'data-testid="to-pay">¥6.00' in html and 'data-amount="600" checked' in html  # the best, preselected
    res = web.post(f"/parking/sessions/{session.pk}/pay/", {"coupon": str(coupon.pk)}, follow=True)
    assert "Paid ¥6.00" in res.content.decode()
    payment = ParkingPayment.objects.get(session=session)
    assert payment.status == "paid" and payment.coupon == coupon and payment.amount == 600
    assert balance(customer) == 1400


def test_pay_page_only_reads(web, customer, lot):
    """Showing what is due writes nothing: the payment is written when the customer pays."""
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    html = web.get(f"/parking/sessions/{session.pk}/pay/").content.decode()
    assert 'data-testid="due">Due now: ¥9.00' in html
    assert not ParkingPayment.objects.exists()


def test_pay_page_short_wallet_shows_the_error(web, customer, lot):
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    web.get(f"/parking/sessions/{session.pk}/pay/")
    res = web.post(f"/parking/sessions/{session.pk}/pay/", {"coupon": ""}, follow=True)
    assert "does not cover" in res.content.decode()
    assert not ParkingPayment.objects.filter(status="paid").exists()


def test_pay_page_after_the_car_left_pays_the_open_payment(web, customer, lot):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(110))
    stays.session_exit(lot=lot, plate="粤B12345", at=ago(10))
    unpaid = ParkingPayment.objects.get(session=session, status="unpaid")
    res = web.post(f"/parking/sessions/{session.pk}/pay/", {"coupon": ""}, follow=True)
    assert "Paid ¥9.00" in res.content.decode()
    assert ParkingPayment.objects.get(session=session).pk == unpaid.pk
    assert ParkingPayment.objects.get(session=session).status == "paid" and balance(customer) == 1100
    res = web.post(f"/parking/sessions/{session.pk}/pay/", {"coupon": ""}, follow=True)
    assert "Nothing is due" in res.content.decode() and balance(customer) == 1100


def test_someone_elses_pay_page_is_404(web, lot):
    vehicles.vehicle_register(user=UserFactory(), plate="粤B54321")
    session = stays.session_enter(lot=lot, plate="粤B54321", at=ago(100))
    assert web.get(f"/parking/sessions/{session.pk}/pay/").status_code == 404
    assert not ParkingPayment.objects.exists()


def test_remove_vehicle_frees_the_plate(web, customer):
    vehicle, _ = vehicles.vehicle_register(user=customer, plate="粤B12345")
    other, _ = vehicles.vehicle_register(user=UserFactory(), plate="粤B54321")
    assert web.post(f"/parking/vehicles/{other.pk}/remove/").status_code == 404
    res = web.post(f"/parking/vehicles/{vehicle.pk}/remove/", follow=True)
    assert "removed" in res.content.decode()
    assert not Vehicle.objects.filter(plate="粤B12345").exists()
    assert Vehicle.objects.filter(plate="粤B54321").exists()


@pytest.mark.parametrize("raw", ["²", "١٢", "1.5", "-3", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_pay_page_with_a_coupon_not_in_the_list_shows_an_error(web, customer, lot, raw):
    """A coupon that is not one of the customer's coupons for this lot is refused by the form: the
    page answers with its error message, never a server error, and nothing is paid."""
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    res = web.post(f"/parking/sessions/{session.pk}/pay/", {"coupon": raw})
    assert res.status_code == 302
    assert "Choose a coupon" in web.get(res["Location"]).content.decode()
    assert not ParkingPayment.objects.exists()
    assert balance(customer) == 5000
