"""Races on real threads against PostgreSQL and Redis, in both gates: the invariant after the race
is sold == initial stock - remaining, no customer twice, no oversell."""

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from coupons.models import Voucher
from orders.models import Order
from orders.placing import order_place
from seckill import gate
from seckill.purchase import voucher_purchase
from tests.factories import SeckillVoucherFactory

from .conftest import make_users, race

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _assert_sold_exactly(voucher: Voucher, units: int) -> None:
    voucher.refresh_from_db()
    live = Order.objects.filter(voucher=voucher, status__in=Order.LIVE)
    assert live.count() == units
    assert voucher.stock == voucher.initial_stock - units
    assert voucher.sold_count == units
    dupes = live.values("user_id").annotate(n=Count("id")).filter(n__gt=1)
    assert not dupes.exists()


@pytest.mark.parametrize("gate_fixture", ["db_gate", "db_gate_python", "redis_gate"])
def test_300_buyers_for_50_units_sell_exactly_50(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=50)
    users = make_users(300)
    results, codes = race(lambda u: voucher_purchase(voucher_id=voucher.pk, user=u), [(u,) for u in users])
    assert codes == {"sold_out": 250}
    assert len(results) == 50
    _assert_sold_exactly(voucher, 50)
    assert voucher.stock == 0
    if gate_fixture == "redis_gate":
        assert all(r.accepted_async for r in results)
        assert gate.peek(voucher.pk)[1] == 0
        assert gate.client().hlen(gate.keys(voucher.pk).pending) == 0
        assert len(gate.client().hgetall(gate.keys(voucher.pk).buyers)) == 50


@pytest.mark.parametrize("gate_fixture", ["db_gate", "db_gate_python", "redis_gate"])
def test_one_customer_firing_20_purchases_gets_one_order(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=10)
    (user,) = make_users(1, prefix="eager")
    results, codes = race(lambda: voucher_purchase(voucher_id=voucher.pk, user=user), [()] * 20, workers=20)
    assert len(results) == 1
    assert codes == {"already_purchased": 19}
    _assert_sold_exactly(voucher, 1)


def test_redis_gate_limit_two_holds_under_a_race(redis_gate):
    voucher = SeckillVoucherFactory(stock=10, per_user_limit=2)
    (user,) = make_users(1, prefix="twice-redis")
    results, codes = race(lambda: voucher_purchase(voucher_id=voucher.pk, user=user), [()] * 12, workers=12)
    assert len(results) == 2 and all(r.accepted_async for r in results)
    assert codes == {"purchase_limit_reached": 10}
    voucher.refresh_from_db()
    assert voucher.stock == 8 and voucher.sold_count == 2
    assert Order.objects.filter(voucher=voucher, user=user, status__in=Order.LIVE).count() == 2
    assert gate.peek(voucher.pk)[1] == 8
    assert gate.client().hget(gate.keys(voucher.pk).buyers, user.pk) == "2"


@pytest.mark.parametrize("gate_fixture", ["db_gate", "db_gate_python"])
def test_database_gate_limit_two_holds_under_a_race(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    voucher = SeckillVoucherFactory(stock=10, per_user_limit=2)
    (user,) = make_users(1, prefix="twice")
    results, codes = race(lambda: voucher_purchase(voucher_id=voucher.pk, user=user), [()] * 12, workers=12)
    assert len(results) == 2
    assert codes == {"purchase_limit_reached": 10}
    voucher.refresh_from_db()
    assert voucher.stock == 8


@pytest.mark.parametrize("gate_fixture", ["db_gate", "db_gate_python"])
def test_window_edges_in_the_database_gate(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    begins = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    voucher = SeckillVoucherFactory(stock=5, begins_at=begins, ends_at=begins + timedelta(minutes=10))
    users = make_users(4, prefix="edge")
    from config.errors import DomainError

    with pytest.raises(DomainError) as exc:
        order_place(voucher=voucher, user_id=users[0].pk, accepted_at=begins - timedelta(microseconds=1))
    assert exc.value.code == "not_started"
    order_place(voucher=voucher, user_id=users[1].pk, accepted_at=begins)
    order_place(voucher=voucher, user_id=users[2].pk, accepted_at=voucher.ends_at - timedelta(microseconds=1))
    with pytest.raises(DomainError) as exc:
        order_place(voucher=voucher, user_id=users[3].pk, accepted_at=voucher.ends_at)
    assert exc.value.code == "ended"
    _assert_sold_exactly(voucher, 2)


def test_window_edges_in_the_redis_gate(redis_gate):
    begins = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    voucher = SeckillVoucherFactory(stock=5, begins_at=begins, ends_at=begins + timedelta(minutes=10))
    gate.gate_load(voucher)
    b = int(begins.timestamp() * 1000)
    e = int(voucher.ends_at.timestamp() * 1000)
    from orders.ids import new_order_id

    def take(user_id, now_ms):
        return gate.take_and_index(voucher_id=voucher.pk, user_id=user_id, order_id=new_order_id(), now_ms=now_ms)[0]

    assert take(1, b - 1) == gate.NOT_STARTED
    assert take(2, b) == gate.OK
    assert take(3, e - 1) == gate.OK
    assert take(4, e) == gate.ENDED
    assert gate.peek(voucher.pk)[1] == 3


def test_the_sale_opens_on_time_for_a_crowd_waiting_at_the_edge(redis_gate):
    """Buyers who press before the start are refused; the first ones after it share the stock."""
    import time

    begins = timezone.now() + timedelta(seconds=1.5)
    voucher = SeckillVoucherFactory(stock=10, begins_at=begins, ends_at=begins + timedelta(minutes=5))
    users = make_users(60, prefix="crowd")
    early, codes_early = race(lambda u: voucher_purchase(voucher_id=voucher.pk, user=u), [(u,) for u in users[:20]])
    assert not early and codes_early == {"not_started": 20}
    time.sleep(max(0.0, (begins - timezone.now()).total_seconds()) + 0.05)
    results, codes = race(lambda u: voucher_purchase(voucher_id=voucher.pk, user=u), [(u,) for u in users])
    assert len(results) == 10 and codes == {"sold_out": 50}
    _assert_sold_exactly(voucher, 10)


def _wait_until_blocked_on_a_lock(pid_holder: list, timeout: float = 20.0) -> None:
    """Wait (polling PostgreSQL, no fixed sleep) until the backend in pid_holder waits on a lock."""
    import time as _time

    from django.db import connections

    deadline = _time.monotonic() + timeout
    with connections["default"].cursor() as cur:
        while _time.monotonic() < deadline:
            if pid_holder:
                cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid_holder[0]])
                row = cur.fetchone()
                if row and row[0] == "Lock":
                    return
            _time.sleep(0.005)
    raise AssertionError("the purchase never queued on the voucher's row lock")


@pytest.mark.parametrize("gate_fixture", ["db_gate", "db_gate_python"])
def test_a_purchase_queued_behind_a_delist_takes_nothing_once_it_commits(request, gate_fixture):
    """The buyer read the voucher while it was listed; the delist holds the row lock and commits
    while the buyer's conditional UPDATE waits for it. READ COMMITTED re-evaluates the UPDATE on
    the delisted row: no unit may be taken (a withdrawal enumerates orders right after its delist,
    so an order slipping in after it would stay live and uncompensated)."""
    request.getfixturevalue(gate_fixture)
    import threading

    from django.db import connection, transaction

    from config.errors import DomainError

    voucher = SeckillVoucherFactory(stock=5)
    (user,) = make_users(1, prefix="late")
    stale = Voucher.objects.get(pk=voucher.pk)
    pid, outcome = [], {}

    def buy():
        try:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid.append(cur.fetchone()[0])
            order_place(voucher=stale, user_id=user.pk)
            outcome["result"] = "bought"
        except DomainError as exc:
            outcome["result"] = exc.code
        except BaseException as exc:  # surfaced below
            outcome["result"] = repr(exc)
        finally:
            connection.close()

    with transaction.atomic():
        Voucher.objects.select_for_update().filter(pk=voucher.pk).update(status=Voucher.Status.DELISTED)
        t = threading.Thread(target=buy)
        t.start()
        _wait_until_blocked_on_a_lock(pid)
    t.join(30)
    assert outcome["result"] == "not_found"
    voucher.refresh_from_db()
    assert voucher.stock == 5 and voucher.sold_count == 0
    assert not Order.objects.filter(voucher=voucher).exists()


@pytest.mark.parametrize("gate_fixture", ["db_gate", "db_gate_python"])
def test_a_purchase_with_a_stale_read_of_a_delisted_voucher_is_refused(request, gate_fixture):
    request.getfixturevalue(gate_fixture)
    from config.errors import DomainError
    from coupons.services import voucher_delist

    voucher = SeckillVoucherFactory(stock=5)
    (user,) = make_users(1, prefix="stale")
    stale = Voucher.objects.get(pk=voucher.pk)
    voucher_delist(voucher_id=voucher.pk)
    with pytest.raises(DomainError) as exc:
        order_place(voucher=stale, user_id=user.pk)
    assert exc.value.code == "not_found" and exc.value.status == 404
    assert not Order.objects.filter(voucher=voucher).exists()
