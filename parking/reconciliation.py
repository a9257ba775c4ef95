"""parking's checks for the daily money reconciliation (wallet/reconciliation.py): every paid
parking payment that charged the wallet has its debit, and every parking debit belongs to one; every
partner's coupon redeemed has its two settlement entries, which sum to zero, and each month's
redemption counter agrees with the entries written under it."""

from collections.abc import Iterable

from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from wallet.models import LedgerEntry
from wallet.reconciliation import Finding, register_check, row

from .models import ParkingPayment, PartnershipMonth, SettlementEntry

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


def check_settlements() -> Iterable[Finding]:
    """A paid fee that took a coupon of another organization has exactly two settlement entries,
    between the lot's organization and the coupon's, summing to zero; no payment has entries
    otherwise."""
    foreign = ~Q(coupon__organization_id=F("session__lot__organization_id"))
    wrong = (
        ParkingPayment.objects.annotate(
            entries=Count("settlement_entries"),
            total=Coalesce(Sum("settlement_entries__amount"), Value(0)),
            owed=Coalesce(Sum("settlement_entries__amount", filter=Q(settlement_entries__amount__gt=0)), Value(0)),
            sides=Count(
                "settlement_entries",
                filter=Q(
                    settlement_entries__organization_id=F("session__lot__organization_id"),
                    settlement_entries__counterparty_id=F("coupon__organization_id"),
                )
                | Q(
                    settlement_entries__organization_id=F("coupon__organization_id"),
                    settlement_entries__counterparty_id=F("session__lot__organization_id"),
                ),
            ),
            redeemed=Count("pk", filter=Q(status=ParkingPayment.Status.PAID, coupon__isnull=False) & foreign),
        )
        .filter(Q(redeemed__gt=0) & ~Q(entries=2, total=0, sides=2) | Q(redeemed=0, entries__gt=0))
        .order_by("pk")
        .values("pk", "entries", "total", "owed", "redeemed", "coupon_id", "session__lot__organization_id")
    )
    for p in wrong.iterator():
        entries = list(SettlementEntry.objects.filter(payment_id=p["pk"]).values_list("pk", flat=True))
        rows = [row("parking.parkingpayment", p["pk"])] + [row("parking.settlemententry", pk) for pk in entries]
        if p["coupon_id"]:
            rows.append(row("orders.order", p["coupon_id"]))
        if p["redeemed"]:
            message = (
                f"Parking payment {p['pk']} redeemed a partner's coupon but its settlement has "
                f"{p['entries']} entries summing to {p['total']}, not two between the two organizations summing to 0."
            )
        else:
            message = (
                f"Parking payment {p['pk']} has {p['entries']} settlement entries but redeemed no partner's coupon."
            )
        yield Finding(message=message, rows=rows, organization_id=p["session__lot__organization_id"])


def check_partnership_months() -> Iterable[Finding]:
    """Each month's redemption counter (what the cap is checked against) and amount owed equal the
    entries written under that partnership in that month, on the lot organization's side."""
    owed = SettlementEntry.objects.filter(
        partnership_id=OuterRef("partnership_id"), month=OuterRef("month"), amount__gt=0
    ).values("partnership_id")
    months = (
        PartnershipMonth.objects.annotate(
            counted=Coalesce(Subquery(owed.annotate(n=Count("pk")).values("n")), Value(0), output_field=IntegerField()),
            summed=Coalesce(Subquery(owed.annotate(s=Sum("amount")).values("s")), Value(0)),
        )
        .exclude(redemptions=F("counted"), amount=F("summed"))
        .order_by("pk")
        .values("pk", "partnership_id", "month", "redemptions", "amount", "counted", "summed")
        .annotate(organization_id=F("partnership__offering_id"))
    )
    for m in months.iterator():
        yield Finding(
            message=f"Partnership {m['partnership_id']} counts {m['redemptions']} redemptions ({m['amount']}) "
            f"in {m['month']:%Y-%m} but its entries show {m['counted']} ({m['summed']}).",
            rows=[row("parking.partnershipmonth", m["pk"]), row("parking.partnership", m["partnership_id"])],
            organization_id=m["organization_id"],
        )


def connect() -> None:
    register_check("parking_payments", check_parking_payments, label=_("Parking payments"))
    register_check("settlements", check_settlements, label=_("Settlements between organizations"))
    register_check("partnership_months", check_partnership_months, label=_("Partnership monthly counters"))
