"""Compensation: withdrawing a voucher that was sold but cannot be honoured. Every paid order is
refunded (money and unit back), every unpaid one cancelled, and each affected customer credited a
compensation once. The run is recorded (CompensationRun) and its transitions carry it, so a second
run recognises the orders the first one withdrew."""

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from config.errors import DomainError
from coupons.models import Voucher
from coupons.services import voucher_delist

from .models import CompensationRun, Order
from .services import order_compensate, order_was_withdrawn, order_withdraw

log = logging.getLogger("parkmarket.orders")


@dataclass
class _RunTally:
    refunded: int = 0
    cancelled: int = 0
    compensated: int = 0
    skipped: int = 0
    compensated_total: int = 0
    refunded_total: int = 0
    outcome: dict = field(default_factory=dict)


def voucher_compensate(
    *,
    voucher_id: int,
    amount: int,
    message: str,
    actor: AbstractBaseUser | None,
    order_ids: Iterable[uuid.UUID] | None = None,
) -> CompensationRun:
    """Withdraw a sold voucher: delist it, refund every paid order (unpaid ones are cancelled), return their
    stock, and credit each affected customer `amount` with `message`. Each order is handled in its
    own transaction under its row lock; compensation credits use the ledger key
    `compensation:<order id>`, so running it again pays nobody twice. Used coupons are skipped (the
    benefit was consumed), and so are unpaid orders past their window (they expire here). The run
    is recorded with what happened to every order."""
    if amount < 0:
        raise DomainError(
            "validation_error", gettext_noop("Compensation cannot be negative."), details={"amount": ["Must be >= 0."]}
        )
    message = (message or "").strip()
    if not message:
        raise DomainError(
            "validation_error",
            gettext_noop("A message for the customers is required."),
            details={"message": ["Required."]},
        )
    voucher = Voucher.objects.filter(pk=voucher_id).first()
    if voucher is None:
        raise DomainError("not_found", status=404)
    if voucher.status == Voucher.Status.LISTED:
        # Withdrawing means it stops selling first: the units the refunds return must not go
        # straight back on sale.
        voucher_delist(voucher_id=voucher.pk)
    run = CompensationRun.objects.create(
        organization_id=voucher.organization_id,
        voucher=voucher,
        amount_per_order=amount,
        message=message[:255],
        actor_id=actor.pk if actor else None,
    )
    candidates = Order.objects.filter(voucher_id=voucher_id)
    if order_ids is not None:
        candidates = candidates.filter(pk__in=list(order_ids))
    tally = _RunTally()
    actor_id = actor.pk if actor else None
    for oid in candidates.order_by("id").values_list("pk", flat=True):
        _compensate_one(order_id=oid, run=run, amount=amount, message=message, actor_id=actor_id, tally=tally)
    CompensationRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(),
        refunded_count=tally.refunded,
        cancelled_count=tally.cancelled,
        compensated_count=tally.compensated,
        skipped_count=tally.skipped,
        compensated_total=tally.compensated_total,
        refunded_total=tally.refunded_total,
        outcome=tally.outcome,
    )
    run.refresh_from_db()
    log.info("compensation run %s on voucher %s: %s", run.pk, voucher_id, tally)
    return run


def _compensate_one(
    *, order_id: uuid.UUID, run: CompensationRun, amount: int, message: str, actor_id: int | None, tally: _RunTally
) -> None:
    done: list[str] = []
    why = f"withdrawn (compensation run #{run.pk}): {message}"
    with transaction.atomic():
        order, outcome = order_withdraw(order_id=order_id, run_id=run.pk, actor_id=actor_id, reason=why)
        if outcome == "refunded":
            tally.refunded += 1
            tally.refunded_total += order.amount
        elif outcome == "cancelled":
            tally.cancelled += 1
        if outcome:
            done.append(outcome)
        eligible = bool(done) or order_was_withdrawn(order)
        if (
            eligible
            and amount > 0
            and order_compensate(order=order, run_id=run.pk, actor_id=actor_id, amount=amount, message=message)
        ):
            tally.compensated += 1
            tally.compensated_total += amount
            done.append("compensated")
    if not done:
        tally.skipped += 1
        done.append(f"skipped ({order.status})")
    tally.outcome[str(order_id)] = done
