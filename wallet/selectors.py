"""Reads of wallets. A customer who never moved money has no wallet row yet: they read as an empty
wallet (a read never creates one; the first movement does, under its lock)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import LedgerEntry, Wallet


def wallet_of(*, user: AbstractBaseUser) -> Wallet:
    """The customer's wallet, or an unsaved empty one when there is none yet."""
    return Wallet.objects.filter(user_id=user.pk).first() or Wallet(user_id=user.pk, balance=0)


def wallet_balance(*, user_id: int) -> int:
    return Wallet.objects.filter(user_id=user_id).values_list("balance", flat=True).first() or 0


def ledger_entries_of(*, user: AbstractBaseUser, before_id: int | None = None) -> QuerySet[LedgerEntry]:
    """The customer's ledger, newest first; `before_id` pages back (entries older than that id)."""
    entries = LedgerEntry.objects.filter(wallet__user_id=user.pk).order_by("-created_at", "-id")
    if before_id is not None:
        entries = entries.filter(id__lt=before_id)
    return entries
