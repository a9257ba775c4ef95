"""Random sequences of purchase, pay, cancel, expire, refund and top-up; after every step the
invariants hold: stock + live orders = initial stock; every wallet's ledger sums to its balance; no
balance is negative; and no money appears or vanishes (balances = top-ups - kept payments)."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.errors import DomainError
from coupons.models import Voucher
from orders.models import Order
from orders.services import order_cancel, order_pay, order_refund, orders_expire_due
from seckill.purchase import voucher_purchase
from tests.factories import UserFactory, VoucherFactory
from wallet.models import LedgerEntry, TopUp, Wallet
from wallet.services import topup_start

pytestmark = pytest.mark.django_db

INITIAL_STOCK = 4
PRICE = 300
USERS = 2
OPENING = 600  # each customer starts with two coupons' worth, topped up through the sandbox
EXPECTED = {
    "sold_out",
    "already_purchased",
    "purchase_limit_reached",
    "insufficient_funds",
    "invalid_state",
    "not_found",
}

step = st.one_of(
    st.tuples(st.just("purchase"), st.integers(0, USERS - 1)),
    st.tuples(
        st.sampled_from(["pay", "pay", "cancel", "expire", "refund"]), st.integers(0, USERS - 1), st.integers(0, 1)
    ),
    st.tuples(st.just("topup"), st.integers(0, USERS - 1), st.integers(1, 900)),
)


def check_invariants(voucher: Voucher) -> None:
    voucher.refresh_from_db()
    live = Order.objects.filter(voucher=voucher, status__in=Order.LIVE).count()
    assert voucher.stock + live == INITIAL_STOCK
    assert voucher.stock >= 0
    for wallet in Wallet.objects.all():
        ledger = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or 0
        assert ledger == wallet.balance
        assert wallet.balance >= 0
        topped = TopUp.objects.filter(user_id=wallet.user_id, status="succeeded").aggregate(s=Sum("amount"))["s"] or 0
        kept = Order.objects.filter(user_id=wallet.user_id, status__in=["paid", "used"]).aggregate(s=Sum("amount"))
        assert wallet.balance == topped - (kept["s"] or 0)


def run_step(action, users, voucher, args) -> None:
    user = users[args[0]]
    mine = list(Order.objects.filter(user=user, voucher=voucher).order_by("created_at", "id"))
    target = mine[args[1] % len(mine)] if len(args) > 1 and mine else None
    try:
        if action == "purchase":
            voucher_purchase(voucher_id=voucher.pk, user=user)
        elif action == "topup":
            topup_start(user=user, amount=args[1])
        elif target is None:
            return
        elif action == "pay":
            order_pay(order_id=target.pk, user=user)
        elif action == "cancel":
            order_cancel(order_id=target.pk, user=user)
        elif action == "refund":
            order_refund(order_id=target.pk, user=user)
        elif action == "expire":
            # the payment window of this order closes; the periodic task runs
            Order.objects.filter(pk=target.pk, status="pending_payment").update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )
            orders_expire_due()
    except DomainError as exc:
        assert exc.code in EXPECTED, exc


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_random_order_and_wallet_sequences_keep_the_books_straight(steps):
    with transaction.atomic():
        voucher = VoucherFactory(price=PRICE, stock=INITIAL_STOCK, per_user_limit=2)
        users = [UserFactory() for _ in range(USERS)]
        for user in users:
            topup_start(user=user, amount=OPENING)
        for action, *args in steps:
            run_step(action, users, voucher, args)
            check_invariants(voucher)
        transaction.set_rollback(True)
