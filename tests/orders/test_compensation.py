import pytest

from config.errors import DomainError
from orders.compensation import voucher_compensate
from orders.models import CompensationRun, Order, OrderEvent
from orders.services import order_pay
from tests.factories import OperatorFactory, VoucherFactory
from wallet.models import LedgerEntry

from .helpers import assert_ledger_matches_balances, balance, buy, customer, stock

pytestmark = pytest.mark.django_db

S = Order.Status


@pytest.fixture
def sold():
    """A voucher with a paid, an unpaid, a used and a cancelled order."""
    v = VoucherFactory(price=400, stock=10)
    users = [customer(balance=1000) for _ in range(4)]
    paid, unpaid, used, cancelled = (buy(u, v) for u in users)
    order_pay(order_id=paid.pk, user=users[0])
    order_pay(order_id=used.pk, user=users[2])
    Order.objects.filter(pk=used.pk).update(status=S.USED)
    Order.objects.filter(pk=cancelled.pk).update(status=S.CANCELLED, stock_released=True)
    from django.db.models import F

    from coupons.models import Voucher

    Voucher.objects.filter(pk=v.pk).update(stock=F("stock") + 1)
    return v, users, {"paid": paid, "unpaid": unpaid, "used": used, "cancelled": cancelled}


def test_compensation_refunds_cancels_and_credits_once(sold):
    v, users, orders = sold
    op = OperatorFactory(organization=v.organization)
    assert stock(v) == 7
    run = voucher_compensate(voucher_id=v.pk, amount=250, message="Lot closed for works", actor=op.user)
    assert (run.refunded_count, run.cancelled_count, run.compensated_count, run.skipped_count) == (1, 1, 2, 2)
    assert run.compensated_total == 500 and run.refunded_total == 400
    assert stock(v) == 9  # paid and unpaid units are back; the used one was consumed
    assert balance(users[0]) == 1000 + 250  # refunded 400 + 250 compensation
    assert balance(users[1]) == 1000 + 250  # never paid; cancelled + 250
    assert balance(users[2]) == 600  # used coupon: untouched
    assert balance(users[3]) == 1000
    statuses = {k: Order.objects.get(pk=o.pk).status for k, o in orders.items()}
    assert statuses == {"paid": "refunded", "unpaid": "cancelled", "used": "used", "cancelled": "cancelled"}
    ev = OrderEvent.objects.get(order=orders["paid"], from_status="paid", to_status="refunded")
    assert ev.actor_id == op.user.pk and "Lot closed for works" in ev.reason
    entry = LedgerEntry.objects.get(order=orders["paid"], kind="compensation")
    assert entry.amount == 250 and entry.memo == "Lot closed for works"
    assert run.outcome[str(orders["paid"].pk)] == ["refunded", "compensated"]

    again = voucher_compensate(voucher_id=v.pk, amount=250, message="Lot closed for works", actor=op.user)
    assert (again.refunded_count, again.cancelled_count, again.compensated_count) == (0, 0, 0)
    assert balance(users[0]) == 1250 and balance(users[1]) == 1250
    assert stock(v) == 9
    assert CompensationRun.objects.count() == 2
    assert LedgerEntry.objects.filter(kind="compensation").count() == 2
    assert_ledger_matches_balances()


def test_compensation_restricted_to_selected_orders(sold):
    v, users, orders = sold
    run = voucher_compensate(voucher_id=v.pk, amount=0, message="Oversold", actor=None, order_ids=[orders["paid"].pk])
    assert (run.refunded_count, run.compensated_count) == (1, 0)
    assert Order.objects.get(pk=orders["unpaid"].pk).status == S.PENDING_PAYMENT
    assert not LedgerEntry.objects.filter(kind="compensation").exists()


@pytest.mark.parametrize("amount,message", [(-1, "x"), (100, ""), (100, "   ")])
def test_compensation_refuses_bad_input(sold, amount, message):
    v, users, orders = sold
    with pytest.raises(DomainError) as err:
        voucher_compensate(voucher_id=v.pk, amount=amount, message=message, actor=None)
    assert err.value.code == "validation_error"
    assert not CompensationRun.objects.exists()
    assert Order.objects.get(pk=orders["paid"].pk).status == S.PAID


def test_an_overdue_unpaid_order_expires_instead_of_being_compensated():
    """The customer let the payment window close: the order is expired (it reads so already), its
    unit comes back once, and no compensation is credited for a coupon they no longer held."""
    from datetime import timedelta

    from django.utils import timezone

    v = VoucherFactory(price=400, stock=3)
    u = customer(balance=1000)
    order = buy(u, v)
    Order.objects.filter(pk=order.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    run = voucher_compensate(voucher_id=v.pk, amount=250, message="Lot closed", actor=None)
    order.refresh_from_db()
    assert order.status == S.EXPIRED and order.stock_released
    assert (run.cancelled_count, run.compensated_count, run.skipped_count) == (0, 0, 1)
    assert run.compensated_total == 0
    assert balance(u) == 1000
    assert stock(v) == 3
    assert not LedgerEntry.objects.filter(kind="compensation").exists()
    again = voucher_compensate(voucher_id=v.pk, amount=250, message="Lot closed", actor=None)
    assert again.compensated_count == 0 and balance(u) == 1000 and stock(v) == 3
    assert_ledger_matches_balances()


def test_compensation_withdraws_the_voucher_from_sale(sold):
    v, users, orders = sold
    voucher_compensate(voucher_id=v.pk, amount=0, message="Oversold", actor=None)
    v.refresh_from_db()
    assert v.status == "delisted"
    with pytest.raises(DomainError) as err:
        buy(customer(balance=1000), v)
    assert err.value.code == "not_found"


def test_a_later_run_credits_the_orders_an_earlier_run_withdrew_and_no_others(sold):
    """Eligibility comes from the transitions' compensation run, not from audit text: a first run
    without money withdraws; a second run credits exactly the withdrawn orders, whatever reasons
    other transitions wrote."""
    from orders.services import order_cancel

    v, users, orders = sold
    lookalike_user = customer(balance=0)
    lookalike = buy(lookalike_user, v)
    order_cancel(order_id=lookalike.pk, user=lookalike_user, reason="withdrawn (compensation run #1): by hand")
    first = voucher_compensate(voucher_id=v.pk, amount=0, message="Lot closed", actor=None)
    assert (first.refunded_count, first.cancelled_count, first.compensated_count) == (1, 1, 0)
    second = voucher_compensate(voucher_id=v.pk, amount=300, message="Sorry for the trouble", actor=None)
    assert second.compensated_count == 2
    credited = set(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.COMPENSATION).values_list("wallet__user_id", flat=True)
    )
    assert credited == {users[0].pk, users[1].pk}
    assert balance(lookalike_user) == 0
    withdrawn = OrderEvent.objects.filter(compensation_run=first, to_status__in=[S.REFUNDED, S.CANCELLED])
    assert {e.order_id for e in withdrawn} == {orders["paid"].pk, orders["unpaid"].pk}
