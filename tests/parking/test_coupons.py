"""Coupons on parking fees: each benefit type, and the coupons that must be refused."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order, OrderEvent
from parking.models import ParkingPayment
from parking.services import payments, stays, vehicles
from parking.tariffs import TariffRule
from tests.conftest import auth_client
from tests.factories import LotFactory, OrderFactory, UserFactory, VoucherFactory

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


def _coupon(user, org, *, benefit_type="amount", value=300, lot=None, status=Order.Status.PAID):
    voucher = VoucherFactory(organization=org, lot=lot, benefit_type=benefit_type, benefit_value=value)
    return OrderFactory(user=user, voucher=voucher, status=status, paid_at=timezone.now())


def _payment(customer, lot, minutes=100):
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(minutes))
    _, payment = payments.payment_refresh(session=session)
    return payment


def _pay(customer, payment, coupon):
    client = auth_client(customer)
    return client.post(f"/api/v1/parking/payments/{payment.pk}/pay", {"coupon": str(coupon.pk)}, format="json")


@pytest.mark.parametrize(
    ("benefit_type", "value", "discount"),
    [
        ("amount", 300, 300),  # 900 - 300
        ("amount", 5000, 900),  # never more than the fee
        ("minutes", 60, 400),  # 100 -> 40 minutes: 500
        ("minutes", 90, 900),  # 100 -> 10 minutes: free
        ("percent", 15, 135),
        ("percent", 100, 900),
        ("free", 0, 900),
    ],
)
def test_each_benefit_type(customer, lot, benefit_type, value, discount):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    coupon = _coupon(customer, lot.organization, benefit_type=benefit_type, value=value)
    res = _pay(customer, payment, coupon)
    assert res.status_code == 200, res.content
    body = res.json()
    assert body["fee"] == 900 and body["discount"] == discount and body["amount"] == 900 - discount
    assert body["coupon"] == str(coupon.pk) and body["status"] == "paid"
    assert balance(customer) == 5000 - (900 - discount)
    coupon.refresh_from_db()
    assert coupon.status == Order.Status.USED and coupon.used_at is not None
    event = OrderEvent.objects.get(order=coupon)
    assert (event.from_status, event.to_status, event.actor) == ("paid", "used", customer)


def test_percent_rounds_half_up(customer, operator):
    lot = stays.lot_create(
        organization=operator.organization,
        name="Odd",
        capacity=5,
        tariff=TariffRule(first_price=333, cap_per_24h=3000),
    )
    fund(customer, 5000)
    payment = _payment(customer, lot, minutes=30)
    coupon = _coupon(customer, lot.organization, benefit_type="percent", value=50)
    body = _pay(customer, payment, coupon).json()
    assert body["fee"] == 333 and body["discount"] == 167 and body["amount"] == 166


def test_a_fully_covered_fee_moves_no_money(customer, lot):
    payment = _payment(customer, lot)
    coupon = _coupon(customer, lot.organization, benefit_type="free")
    assert _pay(customer, payment, coupon).json()["amount"] == 0
    payment.refresh_from_db()
    assert payment.method == "coupon" and payment.ledger_entry is None


def test_voucher_for_this_lot_applies(customer, lot):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    coupon = _coupon(customer, lot.organization, lot=lot)
    assert _pay(customer, payment, coupon).status_code == 200


def _assert_refused(res, status, code, customer, payment, coupon, wallet):
    assert res.status_code == status, res.content
    assert res.json()["error"]["code"] == code
    payment.refresh_from_db()
    coupon.refresh_from_db()
    assert payment.status == "unpaid" and payment.coupon_id is None
    assert balance(customer) == wallet
    return coupon


def test_coupon_of_another_organization_is_invalid_state(customer, lot):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    coupon = _coupon(customer, LotFactory().organization)
    coupon = _assert_refused(_pay(customer, payment, coupon), 409, "invalid_state", customer, payment, coupon, 5000)
    assert coupon.status == "paid"


def test_coupon_of_another_lot_is_invalid_state(customer, lot):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    other_lot = LotFactory(organization=lot.organization)
    coupon = _coupon(customer, lot.organization, lot=other_lot)
    coupon = _assert_refused(_pay(customer, payment, coupon), 409, "invalid_state", customer, payment, coupon, 5000)
    assert coupon.status == "paid"


@pytest.mark.parametrize("status", ["pending_payment", "used", "refunded", "cancelled"])
def test_coupon_not_paid_is_invalid_state(customer, lot, status):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    coupon = _coupon(customer, lot.organization, status=status)
    coupon = _assert_refused(_pay(customer, payment, coupon), 409, "invalid_state", customer, payment, coupon, 5000)
    assert coupon.status == status


def test_another_customers_coupon_is_404(customer, lot):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    coupon = _coupon(UserFactory(), lot.organization)
    coupon = _assert_refused(_pay(customer, payment, coupon), 404, "not_found", customer, payment, coupon, 5000)
    assert coupon.status == "paid"


def test_unknown_coupon_is_404(customer, lot):
    payment = _payment(customer, lot)
    res = auth_client(customer).post(
        f"/api/v1/parking/payments/{payment.pk}/pay", {"coupon": str(uuid.uuid4())}, format="json"
    )
    assert res.status_code == 404


def test_short_wallet_leaves_the_coupon_paid(customer, lot):
    fund(customer, 100)
    payment = _payment(customer, lot)
    coupon = _coupon(customer, lot.organization, value=300)
    coupon = _assert_refused(_pay(customer, payment, coupon), 409, "insufficient_funds", customer, payment, coupon, 100)
    assert coupon.status == "paid" and coupon.used_at is None
    assert not OrderEvent.objects.filter(order=coupon).exists()


def test_a_coupon_is_used_once(customer, lot, operator):
    fund(customer, 5000)
    payment = _payment(customer, lot)
    coupon = _coupon(customer, lot.organization, value=100)
    assert _pay(customer, payment, coupon).status_code == 200
    stays.session_exit(lot=lot, plate="粤B12345", at=timezone.now())
    second_lot = stays.lot_create(organization=operator.organization, name="Second", capacity=5, tariff=TariffRule())
    stays.session_enter(lot=second_lot, plate="粤B12345", at=ago(100))
    session = second_lot.sessions.get()
    _, payment2 = payments.payment_refresh(session=session)
    res = _pay(customer, payment2, coupon)
    assert res.status_code == 409 and res.json()["error"]["code"] == "invalid_state"
    assert ParkingPayment.objects.filter(coupon=coupon).count() == 1


def test_minutes_coupon_on_a_later_payment_counts_the_whole_stay(customer, lot):
    """Paid 900 at 100 minutes; at 160 minutes 400 more is due (1300). A 60-minute coupon prices
    the stay at 100 minutes: 900, already covered, so the whole 400 is off."""
    from django.db.models import F

    from parking.models import ParkingSession

    fund(customer, 5000)
    payment = _payment(customer, lot, minutes=100)
    payments.payment_pay(payment_id=payment.pk, user=customer)
    session = payment.session
    ParkingSession.objects.filter(pk=session.pk).update(entered_at=F("entered_at") - timedelta(minutes=60))
    ParkingPayment.objects.filter(pk=payment.pk).update(priced_until=F("priced_until") - timedelta(minutes=60))
    _, later = payments.payment_refresh(session=session)
    assert later.amount == 400
    coupon = _coupon(customer, lot.organization, benefit_type="minutes", value=60)
    body = _pay(customer, later, coupon).json()
    assert body["discount"] == 400 and body["amount"] == 0
