"""parking's check for the daily money reconciliation (wallet/reconciliation.py): every paid
parking payment that charged the wallet has its debit, and every parking debit belongs to one."""

from collections.abc import Iterable

from django.db.models import F

from wallet.models import LedgerEntry
from wallet.reconciliation import Finding, register_check, row

from .models import ParkingPayment

KIND = LedgerEntry.Kind.PARKING_PAYMENT


def check_parking_payments() -> Iterable[Finding]:
    paid = (
        ParkingPayment.objects.filter(status=ParkingPayment.Status.PAID, amount__gt=0)
        .exclude(
            ledger_entry__kind=KIND,
            ledger_entry__amount=-F("amount"),
            ledger_entry__wallet__user_id=F("session__user_id"),
        )
        .order_by("pk")
        .values("pk", "amount", "ledger_entry_id", "ledger_entry__amount", "session_id")
        .annotate(organization_id=F("session__lot__organization_id"))
    )
    for p in paid.iterator():
        rows = [row("parking.parkingpayment", p["pk"]), row("parking.parkingsession", p["session_id"])]
        if p["ledger_entry_id"]:
            rows.append(row("wallet.ledgerentry", p["ledger_entry_id"]))
        yield Finding(
            message=f"Parking payment {p['pk']} is paid ({p['amount']}) but "
            + (
                f"its debit {p['ledger_entry_id']} reads {p['ledger_entry__amount']}."
                if p["ledger_entry_id"]
                else "has no debit."
            ),
            rows=rows,
            organization_id=p["organization_id"],
        )
    strays = LedgerEntry.objects.filter(kind=KIND).exclude(parking_payment__status=ParkingPayment.Status.PAID)
    for e in strays.order_by("pk").values("pk", "amount", "wallet_id", "reference").iterator():
        yield Finding(
            message=f"Ledger entry {e['pk']} debits {-e['amount']} for parking with no paid payment behind it.",
            rows=[row("wallet.ledgerentry", e["pk"]), row("wallet.wallet", e["wallet_id"])],
            details={"reference": e["reference"]},
        )


def connect() -> None:
    register_check("parking_payments", check_parking_payments)
