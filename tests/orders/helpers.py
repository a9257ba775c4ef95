"""Helpers shared by the order and wallet tests."""

from django.db.models import Sum

from coupons.models import Voucher
from orders.models import Order
from seckill.purchase import voucher_purchase
from tests.factories import UserFactory
from wallet.models import LedgerEntry, Wallet
from wallet.services import wallet_credit


def customer(balance: int = 0, **kwargs):
    user = UserFactory(**kwargs)
    if balance:
        wallet_credit(user_id=user.pk, amount=balance, kind="topup", idempotency_key=f"seed:{user.pk}")
    return user


def buy(user, voucher: Voucher) -> Order:
    return voucher_purchase(voucher_id=voucher.pk, user=user).order


def balance(user) -> int:
    return Wallet.objects.filter(user=user).values_list("balance", flat=True).first() or 0


def stock(voucher: Voucher) -> int:
    return Voucher.objects.values_list("stock", flat=True).get(pk=voucher.pk)


def assert_ledger_matches_balances() -> None:
    for wallet in Wallet.objects.all():
        total = LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] or 0
        assert total == wallet.balance, f"ledger {total} != balance {wallet.balance} for {wallet}"
        assert wallet.balance >= 0
