"""`session_pay`: the pages pay what a stay owes now, writing its payment and charging it at once."""

import pytest
from django.utils import timezone

from config.errors import DomainError
from orders.models import Order
from parking.models import ParkingPayment
from parking.services import payments, stays, vehicles
from tests.factories import OrderFactory, UserFactory, VoucherFactory

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


def _parked(customer, lot, minutes=100):
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    return stays.session_enter(lot=lot, plate="粤B12345", at=ago(minutes))


def test_a_parked_car_pays_what_is_due_now_with_a_coupon(customer, lot):
    fund(customer, 2000)
    session = _parked(customer, lot)
    voucher = VoucherFactory(organization=lot.organization, benefit_type="amount", benefit_value=300)
    coupon = OrderFactory(user=customer, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
    payment = payments.session_pay(session_id=session.pk, user=customer, coupon_id=coupon.pk)
    assert (payment.status, payment.fee, payment.discount, payment.amount) == ("paid", 900, 300, 600)
    assert ParkingPayment.objects.get(session=session).pk == payment.pk
    assert Order.objects.get(pk=coupon.pk).status == Order.Status.USED
    assert balance(customer) == 1400


def test_nothing_due_is_invalid_state_and_writes_nothing(customer, lot):
    fund(customer, 2000)
    session = _parked(customer, lot, minutes=10)  # inside the free minutes
    with pytest.raises(DomainError) as exc:
        payments.session_pay(session_id=session.pk, user=customer)
    assert exc.value.code == "invalid_state"
    assert not ParkingPayment.objects.exists() and balance(customer) == 2000


def test_a_short_wallet_leaves_no_payment_and_the_coupon_paid(customer, lot):
    fund(customer, 100)
    session = _parked(customer, lot)
    voucher = VoucherFactory(organization=lot.organization, benefit_type="amount", benefit_value=300)
    coupon = OrderFactory(user=customer, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
    with pytest.raises(DomainError) as exc:
        payments.session_pay(session_id=session.pk, user=customer, coupon_id=coupon.pk)
    assert exc.value.code == "insufficient_funds"
    assert not ParkingPayment.objects.exists()
    assert Order.objects.get(pk=coupon.pk).status == Order.Status.PAID and balance(customer) == 100


def test_someone_elses_stay_is_not_found(customer, lot):
    fund(customer, 2000)
    session = _parked(UserFactory(), lot)
    with pytest.raises(DomainError) as exc:
        payments.session_pay(session_id=session.pk, user=customer)
    assert (exc.value.code, exc.value.status) == ("not_found", 404)
    assert not ParkingPayment.objects.exists() and balance(customer) == 2000
