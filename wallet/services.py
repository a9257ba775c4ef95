"""Every change of a balance. A balance moves only together with its ledger entry, inside one
transaction, under a row lock on the wallet; each movement carries an idempotency key unique per
wallet, so a retried task or request can never move money twice."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_noop

from config import metrics
from config.errors import DomainError

from .models import LedgerEntry, TopUp, Wallet
from .signals import wallet_credited

log = logging.getLogger("parkmarket.wallet")


def wallet_get_or_create(*, user: AbstractBaseUser) -> Wallet:
    wallet, _ = Wallet.objects.get_or_create(user=user)
    return wallet


def _wallet_locked(user_id: int) -> Wallet:
    wallet = Wallet.objects.select_for_update().filter(user_id=user_id).first()
    if wallet is None:
        try:
            with transaction.atomic():
                Wallet.objects.create(user_id=user_id)
        except IntegrityError:
            pass  # created concurrently
        wallet = Wallet.objects.select_for_update().get(user_id=user_id)
    return wallet


def _move(
    *,
    user_id: int,
    amount: int,
    kind: str,
    idempotency_key: str,
    order_id=None,
    reference: str = "",
    memo: str = "",
) -> LedgerEntry:
    if amount == 0:
        raise DomainError("validation_error", gettext_noop("Amount must not be zero."), status=400)
    with transaction.atomic():
        wallet = _wallet_locked(user_id)
        existing = LedgerEntry.objects.filter(wallet=wallet, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        before = wallet.balance
        after = before + amount
        if after < 0:
            raise DomainError(
                "insufficient_funds",
                details={"balance": before, "required": -amount, "missing": -after},
            )
        Wallet.objects.filter(pk=wallet.pk).update(balance=F("balance") + amount, updated_at=timezone.now())
        entry = LedgerEntry.objects.create(
            wallet=wallet,
            kind=kind,
            amount=amount,
            balance_before=before,
            balance_after=after,
            order_id=order_id,
            reference=reference,
            memo=memo[:255],
            idempotency_key=idempotency_key,
        )
        transaction.on_commit(lambda: _count(kind=kind, amount=amount))
        if amount > 0:
            transaction.on_commit(
                lambda: _announce_credit(user_id=user_id, amount=amount, kind=kind, entry_id=entry.pk)
            )
        return entry


def _count(*, kind: str, amount: int) -> None:
    if amount > 0:
        metrics.wallet_credits.labels(kind).inc()
        metrics.wallet_credited_amount.labels(kind).inc(amount)
    else:
        metrics.wallet_debits.labels(kind).inc()
        metrics.wallet_debited_amount.labels(kind).inc(-amount)


def _announce_credit(*, user_id: int, amount: int, kind: str, entry_id: int) -> None:
    """After the commit the money is in: a failing listener is logged, never raised into the caller,
    which would answer an error for a credit that happened (and invite a paying retry)."""
    results = wallet_credited.send_robust(
        sender=LedgerEntry, user_id=user_id, amount=amount, kind=kind, entry_id=entry_id
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            log.error("wallet_credited listener %r failed for entry %s", receiver, entry_id, exc_info=result)


def wallet_credit(
    *, user_id: int, amount: int, kind: str, idempotency_key: str, order_id=None, reference: str = "", memo: str = ""
) -> LedgerEntry:
    """Add `amount` (> 0) to the user's wallet. Returns the ledger entry (the existing one when the
    idempotency key was used before)."""
    if amount <= 0:
        raise DomainError("validation_error", gettext_noop("A credit must be positive."), status=400)
    return _move(
        user_id=user_id,
        amount=amount,
        kind=kind,
        idempotency_key=idempotency_key,
        order_id=order_id,
        reference=reference,
        memo=memo,
    )


def wallet_debit(
    *, user_id: int, amount: int, kind: str, idempotency_key: str, order_id=None, reference: str = "", memo: str = ""
) -> LedgerEntry:
    """Take `amount` (> 0) from the user's wallet; `insufficient_funds` when it does not cover."""
    if amount <= 0:
        raise DomainError("validation_error", gettext_noop("A debit must be positive."), status=400)
    return _move(
        user_id=user_id,
        amount=-amount,
        kind=kind,
        idempotency_key=idempotency_key,
        order_id=order_id,
        reference=reference,
        memo=memo,
    )


# --- Top-ups --------------------------------------------------------------------------------------


def topup_start(
    *, user: AbstractBaseUser, amount: int, provider_name: str = "sandbox", reference: str | None = None
) -> TopUp:
    """Start a top-up through a payment provider. The sandbox confirms at once, so the wallet is
    credited before this returns; other providers confirm later through the webhook.

    `reference` (e.g. the token of a page form) makes a repeated start return the first top-up
    instead of charging again: the provider maps it to the same transaction id, which is unique."""
    from .payments import get_provider

    if amount <= 0:
        raise DomainError(
            "validation_error", gettext_noop("A top-up must be positive."), details={"amount": ["Must be positive."]}
        )
    provider = get_provider(provider_name)
    if provider is None:
        raise DomainError(
            "validation_error", gettext_noop("Unknown payment provider."), details={"provider": ["Unknown."]}
        )
    if reference:
        earlier = _topup_by_reference(user=user, amount=amount, reference=reference)
        if earlier is not None:
            return earlier
    charge = provider.start_charge(amount=amount, user_id=user.pk, reference=reference)
    try:
        with transaction.atomic():
            topup = TopUp.objects.create(
                user=user,
                amount=amount,
                provider=provider.name,
                provider_txn_id=charge.txn_id,
                reference=reference or "",
            )
            if charge.succeeded:  # confirmed at once: recorded and credited together, or not at all
                topup = topup_confirm(provider_name=provider.name, provider_txn_id=charge.txn_id, amount=amount)
    except IntegrityError:
        earlier = _topup_by_reference(user=user, amount=amount, reference=reference) if reference else None
        if earlier is None:
            raise
        return earlier  # the same reference raced in: the first one is the answer
    return topup


def _topup_by_reference(*, user: AbstractBaseUser, amount: int, reference: str) -> TopUp | None:
    earlier = TopUp.objects.filter(user=user, reference=reference).first()
    if earlier is not None and earlier.amount != amount:
        raise DomainError("idempotency_conflict", gettext_noop("This reference was used for another top-up."))
    return earlier


def topup_confirm(*, provider_name: str, provider_txn_id: str, amount: int | None = None) -> TopUp:
    """The provider says the money arrived. Credits the wallet once per provider transaction: the
    top-up row is locked, and a confirmed one is returned unchanged (a repeated notification)."""
    with transaction.atomic():
        topup = (
            TopUp.objects.select_for_update().filter(provider=provider_name, provider_txn_id=provider_txn_id).first()
        )
        if topup is None:
            raise DomainError("not_found", gettext_noop("Unknown transaction."), status=404)
        if topup.status == TopUp.Status.SUCCEEDED:
            return topup
        if topup.status == TopUp.Status.FAILED:
            raise DomainError(
                "invalid_state", gettext_noop("This top-up already failed."), details={"status": topup.status}
            )
        if amount is not None and amount != topup.amount:
            raise DomainError(
                "validation_error",
                gettext_noop("The confirmed amount differs from the top-up."),
                details={"amount": [f"Expected {topup.amount}."]},
            )
        entry = wallet_credit(
            user_id=topup.user_id,
            amount=topup.amount,
            kind=LedgerEntry.Kind.TOPUP,
            idempotency_key=f"topup:{topup.provider}:{topup.provider_txn_id}",
            reference=f"topup:{topup.pk}",
            memo=f"Top-up via {topup.provider}",
        )
        topup.status = TopUp.Status.SUCCEEDED
        topup.ledger_entry = entry
        topup.completed_at = timezone.now()
        topup.save(update_fields=["status", "ledger_entry", "completed_at"])
    return topup


def topup_fail(*, provider_name: str, provider_txn_id: str, reason: str = "") -> TopUp:
    """The provider says the charge failed. A confirmed top-up stays confirmed."""
    with transaction.atomic():
        topup = (
            TopUp.objects.select_for_update().filter(provider=provider_name, provider_txn_id=provider_txn_id).first()
        )
        if topup is None:
            raise DomainError("not_found", gettext_noop("Unknown transaction."), status=404)
        if topup.status == TopUp.Status.PENDING:
            topup.status = TopUp.Status.FAILED
            topup.failure_reason = reason[:255]
            topup.completed_at = timezone.now()
            topup.save(update_fields=["status", "failure_reason", "completed_at"])
    return topup


def wallets_open_bulk(*, users: list, balance: int = 0) -> list[Wallet]:
    """Wallets for many new customers at once (load tests, demos), each funded with `balance` through
    an opening ledger entry. Must run inside the caller's transaction, right after the users."""
    if balance < 0:
        raise DomainError("validation_error", gettext_noop("An opening balance cannot be negative."), status=400)
    wallets = Wallet.objects.bulk_create([Wallet(user=u, balance=balance) for u in users], batch_size=1000)
    if balance:
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    wallet=w,
                    kind=LedgerEntry.Kind.ADJUSTMENT,  # no provider behind it: not a top-up
                    amount=balance,
                    balance_before=0,
                    balance_after=balance,
                    memo="Opening balance",
                    idempotency_key="opening-balance",
                )
                for w in wallets
            ],
            batch_size=1000,
        )
    return wallets


def on_customer_registered(sender, *, user, **kwargs) -> None:
    """accounts' `customer_registered`: the new customer's wallet, in the registration's transaction."""
    wallet_get_or_create(user=user)
