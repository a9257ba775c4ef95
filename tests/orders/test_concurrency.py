"""Races on real PostgreSQL: threads released together by a barrier, invariants checked after."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config.errors import DomainError
from orders.compensation import voucher_compensate
from orders.models import Order
from orders.services import order_cancel, order_expire, order_pay, order_refund
from tests.conftest import auth_client
from tests.factories import VoucherFactory
from wallet.models import LedgerEntry

from .helpers import assert_ledger_matches_balances, balance, buy, customer, stock

pytestmark = pytest.mark.django_db(transaction=True)


def race(fns):
    """Run every callable in its own thread, all released at once; return their results in order
    (a DomainError's code, or the return value). Any other exception in a thread fails the test."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)
    crashes = []

    def run(i, fn):
        try:
            barrier.wait()
            try:
                results[i] = fn()
            except DomainError as exc:
                results[i] = exc.code
            except Exception as exc:  # any other error fails the test below
                crashes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert not crashes, crashes
    return results


def test_six_parallel_pays_through_the_api_debit_once():
    v = VoucherFactory(price=800, stock=3)
    u = customer(balance=5000)
    order = buy(u, v)

    def pay():
        return auth_client(u).post(f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json")

    answers = race([pay] * 6)
    codes = Counter(r.status_code for r in answers)
    assert codes == {200: 1, 409: 5}
    assert {r.json()["error"]["code"] for r in answers if r.status_code == 409} == {"invalid_state"}
    assert balance(u) == 4200
    assert LedgerEntry.objects.filter(order=order, kind="order_payment").count() == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert_ledger_matches_balances()


def test_parallel_pays_of_different_orders_never_overdraw_the_wallet():
    vouchers = [VoucherFactory(price=300, stock=1) for _ in range(6)]
    u = customer(balance=1000)  # covers three of the six
    orders = [buy(u, v) for v in vouchers]
    results = race([lambda o=o: order_pay(order_id=o.pk, user=u).status for o in orders])
    assert Counter(results) == {"paid": 3, "insufficient_funds": 3}
    assert balance(u) == 100
    assert_ledger_matches_balances()


def test_pay_racing_expiry_ends_in_exactly_one_outcome():
    """The payer is inside the window, the expirer's clock is past it: the order lock decides."""
    outcomes = Counter()
    for _ in range(8):
        v = VoucherFactory(price=200, stock=1)
        u = customer(balance=200)
        order = buy(u, v)
        late = order.expires_at + timedelta(seconds=1)

        def pay(o=order, user=u):
            return order_pay(order_id=o.pk, user=user).status

        def expire(o=order, at=late):
            return order_expire(order_id=o.pk, now=at)

        results = race([pay, expire, pay, expire])
        order.refresh_from_db()
        outcomes[order.status] += 1
        if order.status == Order.Status.PAID:
            assert (balance(u), stock(v)) == (0, 0)
            assert results.count("paid") == 1 and results.count(True) == 0
        else:
            assert order.status == Order.Status.EXPIRED
            assert (balance(u), stock(v)) == (200, 1)
            assert results.count("paid") == 0 and results.count(True) == 1
        assert not LedgerEntry.objects.filter(order=order, kind="order_payment").count() > 1
    assert sum(outcomes.values()) == 8
    print("pay vs expiry outcomes:", dict(outcomes))
    assert_ledger_matches_balances()


def test_expiry_task_and_pay_of_an_overdue_order_return_the_unit_once():
    from orders.services import orders_expire_due

    v = VoucherFactory(price=100, stock=4, per_user_limit=4)
    u = customer(balance=1000)
    orders = [buy(u, v) for _ in range(4)]
    Order.objects.filter(voucher=v).update(expires_at=timezone.now() - timedelta(seconds=1))
    race([orders_expire_due, orders_expire_due] + [lambda o=o: order_pay(order_id=o.pk, user=u).status for o in orders])
    assert stock(v) == 4
    assert set(Order.objects.filter(voucher=v).values_list("status", flat=True)) == {"expired"}
    assert balance(u) == 1000


def test_refund_racing_refund_pays_back_once():
    v = VoucherFactory(price=650, stock=2)
    u = customer(balance=1000)
    order = buy(u, v)
    order_pay(order_id=order.pk, user=u)
    results = race([lambda: order_refund(order_id=order.pk, user=u).status] * 5)
    assert Counter(results) == {"refunded": 1, "invalid_state": 4}
    assert balance(u) == 1000
    assert stock(v) == 2
    assert LedgerEntry.objects.filter(order=order, kind="order_refund").count() == 1
    assert_ledger_matches_balances()


def test_pay_with_one_idempotency_key_in_parallel_runs_once():
    v = VoucherFactory(price=100, stock=1)
    u = customer(balance=100)
    order = buy(u, v)

    def pay():
        return auth_client(u).post(
            f"/api/v1/orders/{order.pk}/pay", {"method": "wallet"}, format="json", HTTP_IDEMPOTENCY_KEY="same"
        )

    answers = race([pay] * 5)
    ok = [r.json() for r in answers if r.status_code == 200]
    assert ok and all(body == ok[0] for body in ok)  # the first answer, replayed
    # The others saw the key still in flight; none of them ran the pay (that would be invalid_state).
    conflicts = [r.json()["error"]["code"] for r in answers if r.status_code != 200]
    assert set(conflicts) <= {"idempotency_conflict"}, conflicts
    assert balance(u) == 0
    assert LedgerEntry.objects.filter(order=order).count() == 1


def test_pay_racing_cancel_ends_in_exactly_one_outcome():
    for _ in range(6):
        v = VoucherFactory(price=250, stock=1)
        u = customer(balance=250)
        order = buy(u, v)

        def pay(o=order, user=u):
            return order_pay(order_id=o.pk, user=user).status

        def cancel(o=order, user=u):
            return order_cancel(order_id=o.pk, user=user).status

        results = race([pay, cancel, pay, cancel])
        order.refresh_from_db()
        assert sorted(results).count(order.status) == 1
        if order.status == Order.Status.PAID:
            assert (balance(u), stock(v)) == (0, 0)
        else:
            assert order.status == Order.Status.CANCELLED
            assert (balance(u), stock(v)) == (250, 1)
    assert_ledger_matches_balances()


def test_two_compensation_runs_in_parallel_pay_each_customer_once():
    v = VoucherFactory(price=400, stock=6)
    users = [customer(balance=400) for _ in range(4)]
    orders = [buy(u, v) for u in users]
    for o, u in zip(orders[:2], users[:2], strict=True):
        order_pay(order_id=o.pk, user=u)

    def run():
        return voucher_compensate(voucher_id=v.pk, amount=100, message="Lot closed", actor=None).compensated_count

    counts = race([run, run, run])
    assert sum(counts) == 4
    assert [balance(u) for u in users] == [500, 500, 500, 500]
    assert stock(v) == 6
    assert LedgerEntry.objects.filter(kind="compensation").count() == 4
    assert LedgerEntry.objects.filter(kind="order_refund").count() == 2
    assert_ledger_matches_balances()


def test_cancel_racing_expiry_returns_the_unit_once():
    """The customer cancels inside the window while the expirer's clock is past it: one of them wins,
    the unit comes back exactly once, and the order carries one closing event."""
    from orders.models import OrderEvent

    for _ in range(6):
        v = VoucherFactory(price=200, stock=2)
        buy(customer(), v)  # another sale, so only the lock (not sold_count >= 0) guards the return
        u = customer()
        order = buy(u, v)
        late = order.expires_at + timedelta(seconds=1)

        def cancel(o=order, user=u):
            return order_cancel(order_id=o.pk, user=user).status

        def expire(o=order, at=late):
            return order_expire(order_id=o.pk, now=at)

        results = race([cancel, expire, cancel, expire])
        order.refresh_from_db()
        assert order.status in (Order.Status.CANCELLED, Order.Status.EXPIRED)
        assert results.count("cancelled") + results.count(True) == 1, results
        assert stock(v) == 1
        closing = OrderEvent.objects.filter(order=order, from_status="pending_payment")
        assert closing.count() == 1


def test_customer_refund_racing_a_compensation_run_refunds_once():
    for _ in range(4):
        v = VoucherFactory(price=500, stock=2)
        other = buy(customer(balance=500), v)
        order_pay(order_id=other.pk, user=other.user)  # stays paid: the run targets one order
        u = customer(balance=500)
        order = buy(u, v)
        order_pay(order_id=order.pk, user=u)

        def refund(o=order, user=u):
            return order_refund(order_id=o.pk, user=user).status

        def withdraw(vid=v.pk, o=order):
            run = voucher_compensate(voucher_id=vid, amount=0, message="Oversold", actor=None, order_ids=[o.pk])
            return run.refunded_count

        results = race([refund, withdraw, refund, withdraw])
        assert results.count("refunded") + sum(r for r in results if isinstance(r, int)) == 1, results
        assert (balance(u), stock(v)) == (500, 1)
        assert LedgerEntry.objects.filter(order=order, kind="order_refund").count() == 1
    assert_ledger_matches_balances()
