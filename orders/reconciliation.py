"""orders' checks for the daily money reconciliation (wallet/reconciliation.py): every paid coupon
order has its debit, every refund its credit, and no payment or refund moved money for an order
that does not say so."""

from collections.abc import Iterable

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from wallet.models import LedgerEntry
from wallet.reconciliation import Finding, register_check, row

from .models import Order

S = Order.Status
# Statuses an order reaches only through its payment.
PAID = (S.PAID, S.USED, S.REFUNDED)


def _entry(kind: str, sign: int):
    return LedgerEntry.objects.filter(
        order_id=OuterRef("pk"), kind=kind, amount=sign * OuterRef("amount"), wallet__user_id=OuterRef("user_id")
    )


def _missing(orders, *, what: str, check_kind: str) -> Iterable[Finding]:
    for o in orders.order_by("pk").values("pk", "status", "amount", "organization_id", "user_id").iterator():
        yield Finding(
            message=f"Order {o['pk']} is {o['status']} for {o['amount']} but has no matching {what}.",
            rows=[row("orders.order", o["pk"])],
            organization_id=o["organization_id"],
            details={"user_id": o["user_id"], "amount": o["amount"], "expected": check_kind},
        )


def check_order_payments() -> Iterable[Finding]:
    """Each paid order (paid, used or refunded later) has the debit of its amount from its customer."""
    unpaid = Order.objects.filter(status__in=PAID, amount__gt=0).exclude(
        Exists(_entry(LedgerEntry.Kind.ORDER_PAYMENT, -1))
    )
    yield from _missing(unpaid, what="debit", check_kind=LedgerEntry.Kind.ORDER_PAYMENT)
    strays = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ORDER_PAYMENT).exclude(order__status__in=PAID)
    for e in strays.order_by("pk").values("pk", "amount", "order_id", "order__status", "order__organization_id"):
        yield Finding(
            message=f"Ledger entry {e['pk']} debits {-e['amount']} for order {e['order_id']}, "
            f"which is {e['order__status'] or 'missing'}.",
            rows=[row("wallet.ledgerentry", e["pk"])] + ([row("orders.order", e["order_id"])] if e["order_id"] else []),
            organization_id=e["order__organization_id"],
        )


def check_order_refunds() -> Iterable[Finding]:
    """Each refunded order has the credit of its amount back to its customer, and only those."""
    unrefunded = Order.objects.filter(status=S.REFUNDED, amount__gt=0).exclude(
        Exists(_entry(LedgerEntry.Kind.ORDER_REFUND, 1))
    )
    yield from _missing(unrefunded, what="refund credit", check_kind=LedgerEntry.Kind.ORDER_REFUND)
    strays = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.ORDER_REFUND).exclude(order__status=S.REFUNDED)
    for e in strays.order_by("pk").values("pk", "amount", "order_id", "order__status", "order__organization_id"):
        yield Finding(
            message=f"Ledger entry {e['pk']} refunds {e['amount']} for order {e['order_id']}, "
            f"which is {e['order__status'] or 'missing'}.",
            rows=[row("wallet.ledgerentry", e["pk"])] + ([row("orders.order", e["order_id"])] if e["order_id"] else []),
            organization_id=e["order__organization_id"],
        )


def connect() -> None:
    register_check("order_payments", check_order_payments, label=_("Coupon payments"))
    register_check("order_refunds", check_order_refunds, label=_("Coupon refunds"))
