"""Races on real PostgreSQL: threads released together by a barrier, invariants checked after."""

import threading
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Sum

from parking import tasks
from parking.models import Lot, ParkingPayment, ParkingSession
from parking.services import payments, stays, vehicles
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, UserFactory, WalletFactory
from wallet.models import LedgerEntry, Wallet
from wallet.signals import wallet_credited

from .conftest import ago, fund

pytestmark = pytest.mark.django_db(transaction=True)


def race(*fns):
    """Run each callable in its own thread, all starting at once; return results or exceptions.
    When the connection pool can hold them all, each thread connects before the barrier: opening
    connections after it staggers the threads by a connection's set-up time each, enough for short
    transactions to run one after another instead of racing."""
    barrier = threading.Barrier(len(fns))
    results: list = [None] * len(fns)
    connect_first = len(fns) < settings.DB_POOL_MAX  # the test's own thread holds one connection

    def run(i, fn):
        try:
            if connect_first:
                connection.ensure_connection()
            barrier.wait(timeout=60)
            results[i] = fn()
        except Exception as exc:  # recorded and asserted on by the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _ledger_matches_balances():
    for wallet in Wallet.objects.all():
        total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or 0
        assert total == wallet.balance


@pytest.fixture
def lot():
    op = OperatorFactory()
    return stays.lot_create(organization=op.organization, name="Race", capacity=200, tariff=TariffRule())


def _driver(plate, auto_pay=True):
    user = UserFactory()
    WalletFactory(user=user)
    vehicles.vehicle_register(user=user, plate=plate, auto_pay=auto_pay)
    return user


def test_exit_racing_a_top_up_debits_once(lot):
    rounds = 4
    drivers = []
    for i in range(rounds):
        plate = f"粤B{i:05d}"
        drivers.append((plate, _driver(plate)))
        stays.session_enter(lot=lot, plate=plate, at=ago(101))
    calls = []
    for i, (plate, user) in enumerate(drivers):
        calls.append(lambda plate=plate: stays.session_exit(lot=Lot.objects.get(pk=lot.pk), plate=plate, at=ago(1)))
        calls.append(lambda user=user, i=i: fund(user, 2000, key=f"race-topup-{i}"))
    results = race(*calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    for plate, user in drivers:
        payment = ParkingPayment.objects.get(session__plate=plate)
        assert payment.status == "paid" and payment.amount == 900
        assert LedgerEntry.objects.filter(wallet__user=user, kind="parking_payment").count() == 1
        assert Wallet.objects.get(user=user).balance == 1100
    # The exit's answer is truthful: "open" exactly when its own call saw the money moved.
    for r in results[0::2]:
        assert (r.barrier == "open") == (r.due == 0)
    _ledger_matches_balances()


def test_two_fee_queries_racing_make_one_payment(lot):
    user = _driver("粤B12345", auto_pay=False)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    results = race(*[lambda: payments.payment_refresh(session=ParkingSession.objects.get(pk=session.pk))] * 9)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert ParkingPayment.objects.filter(session=session).count() == 1
    assert len({r[1].pk for r in results}) == 1
    assert user.pk == ParkingSession.objects.get(pk=session.pk).user_id


def test_fee_api_racing_makes_one_payment(lot):
    from tests.conftest import auth_client

    user = _driver("粤B12345", auto_pay=False)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    client = auth_client(user)
    url = f"/api/v1/parking/sessions/{session.pk}/fee"
    results = race(*[lambda: client.get(url).status_code] * 9)
    assert results == [200] * 9
    assert ParkingPayment.objects.filter(session=session).count() == 1


@contextmanager
def top_up_without_settling():
    """A top-up whose settling task is lost: the receiver is disconnected while it commits."""
    wallet_credited.disconnect(dispatch_uid="parking-settle-debts-on-credit")
    try:
        yield
    finally:
        wallet_credited.connect(tasks.on_wallet_credited, dispatch_uid="parking-settle-debts-on-credit")


def _debt(lot, plate="粤B12345", auto_pay=True):
    user = _driver(plate, auto_pay=auto_pay)
    stays.session_enter(lot=lot, plate=plate, at=ago(101))
    result = stays.session_exit(lot=lot, plate=plate, at=ago(1))
    assert result.barrier == "pay_required" and result.due == 900
    with top_up_without_settling():
        fund(user, 5000)
    assert ParkingPayment.objects.get(pk=result.payment.pk).status == "unpaid"
    return user, result.payment.pk


def test_auto_debit_task_run_in_parallel_debits_once(lot):
    user, payment_id = _debt(lot)
    calls = [lambda: tasks.autodebit_payment(payment_id)] * 3
    calls += [lambda: tasks.settle_user_debts(user.pk)] * 3
    calls += [lambda: tasks.sweep_open_debts()] * 3
    results = race(*calls)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert results[:3].count("paid") + sum(results[3:]) == 1
    assert LedgerEntry.objects.filter(wallet__user=user, kind="parking_payment").count() == 1
    assert Wallet.objects.get(user=user).balance == 4100
    assert ParkingPayment.objects.get(pk=payment_id).status == "paid"
    _ledger_matches_balances()


def test_paying_on_the_page_racing_the_auto_debit_charges_once(lot):
    user, payment_id = _debt(lot)
    results = race(
        *[lambda: payments.payment_pay(payment_id=payment_id, user=user)] * 4,
        *[lambda: payments.payment_autodebit(payment_id=payment_id)] * 4,
    )
    assert LedgerEntry.objects.filter(kind="parking_payment").count() == 1
    assert Wallet.objects.get(user=user).balance == 4100
    assert ParkingPayment.objects.get(pk=payment_id).status == "paid"
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(getattr(e, "code", None) == "invalid_state" for e in errors), errors
    _ledger_matches_balances()


def test_entries_racing_for_the_last_places(lot):
    Lot.objects.filter(pk=lot.pk).update(capacity=3)
    fresh = Lot.objects.get(pk=lot.pk)
    results = race(*[lambda i=i: stays.session_enter(lot=fresh, plate=f"粤B{i:05d}", at=ago(1)) for i in range(9)])
    codes = sorted(getattr(r, "code", "ok") for r in results)
    assert codes.count("ok") == 3 and codes.count("lot_full") == 6
    assert Lot.objects.get(pk=lot.pk).occupancy == 3 == ParkingSession.objects.filter(status="open").count()


def test_same_plate_entering_twice_at_once_parks_once(lot):
    results = race(*[lambda: stays.session_enter(lot=lot, plate="粤B12345", at=ago(1))] * 9)
    codes = sorted(getattr(r, "code", "ok") for r in results)
    assert codes.count("ok") == 1 and codes.count("already_parked") == 8
    assert Lot.objects.get(pk=lot.pk).occupancy == 1


def test_one_coupon_racing_on_two_payments_is_used_once(lot):
    from django.utils import timezone

    from orders.models import Order
    from tests.factories import OrderFactory, VoucherFactory

    user = _driver("粤B12345", auto_pay=False)
    second = stays.lot_create(organization=lot.organization, name="Race 2", capacity=5, tariff=TariffRule())
    with top_up_without_settling():
        fund(user, 5000)
    payment_ids = []
    for where in (lot, second):
        session = stays.session_enter(lot=where, plate="粤B12345", at=ago(100))
        payment_ids.append(payments.payment_refresh(session=session)[1].pk)
    voucher = VoucherFactory(organization=lot.organization, benefit_type="amount", benefit_value=300)
    coupon = OrderFactory(user=user, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
    results = race(
        *[lambda pid=pid: payments.payment_pay(payment_id=pid, user=user, coupon_id=coupon.pk) for pid in payment_ids]
    )
    codes = sorted(getattr(r, "code", "ok") for r in results)
    assert codes == ["invalid_state", "ok"]
    assert ParkingPayment.objects.filter(coupon=coupon, status="paid").count() == 1
    assert Order.objects.get(pk=coupon.pk).status == "used"
    assert Wallet.objects.get(user=user).balance == 5000 - 600
    _ledger_matches_balances()


def test_redeeming_a_coupon_does_not_wait_for_its_voucher_row(lot):
    """Paying with a coupon locks the coupon order, not its voucher: the voucher row is the flash
    sale's hot row (every sale moves its stock), and a parking payment must neither queue behind the
    sale nor hold the sale up while it debits the wallet."""
    from django.db import transaction
    from django.utils import timezone

    from coupons.models import Voucher
    from orders.models import Order
    from tests.factories import OrderFactory, VoucherFactory

    user = _driver("粤B12345", auto_pay=False)
    with top_up_without_settling():
        fund(user, 5000)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    payment_id = payments.payment_refresh(session=session)[1].pk
    voucher = VoucherFactory(organization=lot.organization, benefit_type="amount", benefit_value=300)
    coupon = OrderFactory(user=user, voucher=voucher, status=Order.Status.PAID, paid_at=timezone.now())
    locked, release = threading.Event(), threading.Event()

    def a_sale_holds_the_voucher():
        try:
            with transaction.atomic():
                Voucher.objects.select_for_update().get(pk=voucher.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    seller = threading.Thread(target=a_sale_holds_the_voucher)
    seller.start()
    assert locked.wait(30)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")
        payment = payments.payment_pay(payment_id=payment_id, user=user, coupon_id=coupon.pk)
    finally:
        release.set()
        seller.join(30)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert payment.status == "paid" and payment.discount == 300 and payment.amount == 600
    assert Order.objects.get(pk=coupon.pk).status == "used"
    _ledger_matches_balances()


def test_the_same_customer_registering_a_plate_twice_at_once_gets_it(lot):
    """A double submit of the vehicle form: both answers say the plate is theirs (one creates it),
    never "registered to another account"."""
    from parking.models import Vehicle

    user = UserFactory()
    results = race(*[lambda: vehicles.vehicle_register(user=user, plate="粤B12345", auto_pay=True)] * 8)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(created for _, created in results) == [False] * 7 + [True]
    assert Vehicle.objects.get(plate="粤B12345").user == user


def test_exit_racing_payments_and_fee_queries_keeps_the_books(lot):
    """The car leaves while its owner pays and asks for the fee: whatever the order, one exit
    closes the stay, the payments cover the fee or owe the rest, and the ledger is what was paid."""
    user = _driver("粤B12345", auto_pay=False)
    with top_up_without_settling():
        fund(user, 50000)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    payment_id = payments.payment_refresh(session=session)[1].pk

    def pay():
        return payments.payment_pay(payment_id=payment_id, user=user)

    def refresh():
        return payments.payment_refresh(session=ParkingSession.objects.get(pk=session.pk))

    def leave():
        return stays.session_exit(lot=Lot.objects.get(pk=lot.pk), plate="粤B12345", at=ago(0))

    results = race(leave, pay, pay, refresh, refresh, leave)
    codes = sorted(getattr(r, "code", "ok") for r in results)
    assert codes.count("not_parked") == 1 and set(codes) <= {"ok", "not_parked", "invalid_state", "not_found"}
    session.refresh_from_db()
    paid = ParkingPayment.objects.filter(session=session, status="paid")
    unpaid = ParkingPayment.objects.filter(session=session, status="unpaid").first()
    assert session.status == "closed" and session.fee == 900
    assert sum(p.fee for p in paid) + (unpaid.amount if unpaid else 0) == 900
    charged = -(LedgerEntry.objects.filter(kind="parking_payment").aggregate(s=Sum("amount"))["s"] or 0)
    assert charged == sum(p.amount for p in paid) <= 900
    _ledger_matches_balances()
