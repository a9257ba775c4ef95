"""Auto-debit: at exit, after a top-up (oldest debt first), by the periodic sweep; idempotent."""

import pytest
from django.utils import timezone

from parking import tasks
from parking.models import ParkingPayment
from parking.services import payments, stays, vehicles
from wallet.models import LedgerEntry

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


def _leave(lot, plate, minutes):
    stays.session_enter(lot=lot, plate=plate, at=ago(minutes + 1))
    return stays.session_exit(lot=lot, plate=plate, at=ago(1))


def test_exit_debits_an_auto_pay_owner(customer, lot):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    result = _leave(lot, "粤B12345", 100)
    assert result.barrier == "open" and result.fee == 900 and result.due == 0
    assert result.payment.status == "paid" and result.payment.method == "auto"
    assert balance(customer) == 1100
    assert LedgerEntry.objects.filter(kind="parking_payment").count() == 1


def test_exit_api_reports_the_debit(op_client, customer, lot):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(101))
    res = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": "粤B12345", "at": ago(1).isoformat()}, format="json"
    )
    body = res.json()
    assert body["gate"] == "open" and body["due"] == 0 and body["payment"]["status"] == "paid"
    assert body["session"]["paid"] == 900


def test_exit_with_debit_query_count(op_client, customer, lot, django_assert_max_num_queries):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(101))
    with django_assert_max_num_queries(36):  # +2: the merchant coupon looked up at the exit and at the debit
        res = op_client.post(
            f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": "粤B12345", "at": ago(1).isoformat()}, format="json"
        )
    assert res.json()["gate"] == "open"


def test_short_wallet_leaves_a_debt_that_a_top_up_settles(customer, lot, django_capture_on_commit_callbacks):
    fund(customer, 100)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    result = _leave(lot, "粤B12345", 100)
    assert result.barrier == "pay_required" and result.due == 900
    assert ParkingPayment.objects.get().status == "unpaid"
    with django_capture_on_commit_callbacks(execute=True):
        fund(customer, 1000, key="topup-2")
    payment = ParkingPayment.objects.get()
    assert payment.status == "paid" and payment.method == "auto"
    assert balance(customer) == 200


def test_top_up_settles_oldest_first_and_never_skips(customer, operator, lot, django_capture_on_commit_callbacks):
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(300))
    old = stays.session_exit(lot=lot, plate="粤B12345", at=ago(200))  # 100 minutes: 900
    stays.session_enter(lot=lot, plate="粤B12345", at=ago(50))
    new = stays.session_exit(lot=lot, plate="粤B12345", at=ago(1))  # 49 minutes: 500
    assert old.due == 900 and new.due == 500
    with django_capture_on_commit_callbacks(execute=True):
        fund(customer, 600, key="t1")  # covers the newer debt only: nothing is paid
    assert ParkingPayment.objects.filter(status="paid").count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        fund(customer, 400, key="t2")  # 1000: the older one
    assert ParkingPayment.objects.get(session=old.session).status == "paid"
    assert ParkingPayment.objects.get(session=new.session).status == "unpaid"
    with django_capture_on_commit_callbacks(execute=True):
        fund(customer, 400, key="t3")  # 500: the newer one
    assert ParkingPayment.objects.filter(status="paid").count() == 2
    assert balance(customer) == 0


def test_owner_without_auto_pay_is_not_debited(customer, lot, django_capture_on_commit_callbacks):
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=False)
    result = _leave(lot, "粤B12345", 100)
    assert result.barrier == "pay_required"
    with django_capture_on_commit_callbacks(execute=True):
        fund(customer, 100, key="t2")
    assert ParkingPayment.objects.get().status == "unpaid"
    assert balance(customer) == 5100


def test_turning_auto_pay_on_settles_debts(customer, lot, django_capture_on_commit_callbacks):
    fund(customer, 5000)
    vehicle, _ = vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=False)
    _leave(lot, "粤B12345", 100)
    with django_capture_on_commit_callbacks(execute=True):
        vehicles.vehicle_set_auto_pay(vehicle=vehicle, auto_pay=True)
    assert ParkingPayment.objects.get().status == "paid"


def test_sweep_settles_what_was_missed(customer, lot):
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    _leave(lot, "粤B12345", 100)
    fund(customer, 2000)  # on_commit callbacks are not run: the top-up's task is "lost"
    assert ParkingPayment.objects.get().status == "unpaid"
    assert tasks.sweep_open_debts.delay().get() == 1
    assert ParkingPayment.objects.get().status == "paid"
    assert tasks.sweep_open_debts.delay().get() == 0
    assert balance(customer) == 1100


def test_task_run_twice_debits_once(customer, lot):
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    result = _leave(lot, "粤B12345", 100)
    fund(customer, 2000)
    assert tasks.autodebit_payment.delay(result.payment.pk).get() == "paid"
    assert tasks.autodebit_payment.delay(result.payment.pk).get() == "already_paid"
    assert tasks.settle_user_debts.delay(customer.pk).get() == 0
    assert LedgerEntry.objects.filter(kind="parking_payment").count() == 1
    assert balance(customer) == 1100


def test_unregistered_car_is_never_auto_debited(lot):
    result = _leave(lot, "粤B12345", 100)
    assert result.barrier == "pay_required"
    assert payments.payment_autodebit(payment_id=result.payment.pk) == "not_eligible"


def test_open_session_is_not_auto_debited(customer, lot):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    _, payment = payments.payment_refresh(session=session)
    assert payments.payment_autodebit(payment_id=payment.pk) == "not_eligible"
    assert balance(customer) == 2000


def test_exit_after_paying_on_the_page_opens_without_a_second_debit(customer, lot):
    fund(customer, 2000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=True)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    _, payment = payments.payment_refresh(session=session)
    payments.payment_pay(payment_id=payment.pk, user=customer)
    result = stays.session_exit(lot=lot, plate="粤B12345", at=timezone.now())
    assert result.barrier == "open" and result.payment is None
    assert balance(customer) == 1100
