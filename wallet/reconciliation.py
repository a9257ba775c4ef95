"""The daily money reconciliation: does every piece of money add up?

The core lives here, low in the stack; each app contributes the checks about its own rows from its
AppConfig.ready() with `register_check()` (wallet: balances and top-ups; orders: coupon payments
and refunds; parking: parking payments and the settlements between organizations; a later app adds
its own the same way). A check is a function that yields `Finding`s; it should be one SQL statement
(or a few that each read a consistent snapshot), so money moving while it runs is never a false alarm.

`money_reconcile()` runs every check, writes a `MoneyReconciliationReport` with one row per finding,
and on any finding logs an ERROR, mails the site admins and sends `money_mismatch_found` (after the
commit) so the apps that own organizations' alerts raise one to each organization involved."""

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from config import metrics

from .models import LedgerEntry, MoneyReconciliationFinding, MoneyReconciliationReport, TopUp, Wallet
from .signals import money_mismatch_found

log = logging.getLogger("parkmarket.reconciliation")

# Findings kept per check and run: beyond that the report says how many more there were.
MAX_FINDINGS_PER_CHECK = 200


@dataclass(frozen=True)
class Finding:
    """One thing that does not add up. `rows` name the rows involved as "<app>.<model>:<pk>"."""

    message: str
    rows: list[str]
    organization_id: int | None = None
    details: dict = field(default_factory=dict)


Check = Callable[[], Iterable[Finding]]
_CHECKS: dict[str, Check] = {}
_LABELS: dict[str, str] = {}


def register_check(name: str, check: Check, *, label: str | None = None) -> None:
    """Add a check (an app's AppConfig.ready()). Registering the same name again replaces it.
    `label` is what the admin shows for it (a lazy translation); the name stays the stored key."""
    _CHECKS[name] = check
    if label is not None:
        _LABELS[name] = label


def check_label(name: str) -> str:
    """A check's name as people read it (its label, else the stored name)."""
    return str(_LABELS.get(name, name))


def registered_checks() -> dict[str, Check]:
    return dict(_CHECKS)


def row(obj_or_label, pk=None) -> str:
    """ "wallet.wallet:12" for a model instance, or for (label, pk)."""
    if pk is None:
        return f"{obj_or_label._meta.label_lower}:{obj_or_label.pk}"
    return f"{obj_or_label}:{pk}"


def money_reconcile(*, checks: dict[str, Check] | None = None) -> MoneyReconciliationReport:
    """Run every registered check (or `checks`) and write the report. Returns it; `report.clean`
    says whether everything added up."""
    checks = registered_checks() if checks is None else checks
    report = MoneyReconciliationReport.objects.create(started_at=timezone.now(), checks=sorted(checks))
    findings: list[MoneyReconciliationFinding] = []
    for name in sorted(checks):
        found = iter(checks[name]())
        kept = list(itertools.islice(found, MAX_FINDINGS_PER_CHECK))
        more = sum(1 for _ in found)
        findings += [
            MoneyReconciliationFinding(
                report=report,
                check_name=name,
                organization_id=f.organization_id,
                message=f.message[:500],
                rows=f.rows,
                details=f.details,
            )
            for f in kept
        ]
        if more:
            findings.append(
                MoneyReconciliationFinding(
                    report=report,
                    check_name=name,
                    message=f"{more} more finding(s) of this check not listed.",
                    details={"not_listed": more},
                )
            )
    with transaction.atomic():
        MoneyReconciliationFinding.objects.bulk_create(findings, batch_size=500)
        report.findings_count = len(findings)
        report.finished_at = timezone.now()
        report.save(update_fields=["findings_count", "finished_at"])
        transaction.on_commit(lambda: _count(len(findings)))
        if findings:
            transaction.on_commit(lambda: _announce(report, findings))
    return report


def _count(findings: int) -> None:
    metrics.money_reconciliations.labels("mismatch" if findings else "clean").inc()
    metrics.money_mismatches.set(findings)


def _announce(report: MoneyReconciliationReport, findings: list[MoneyReconciliationFinding]) -> None:
    by_check: dict[str, int] = {}
    for f in findings:
        by_check[f.check_name] = by_check.get(f.check_name, 0) + 1
    summary = ", ".join(f"{name}: {count}" for name, count in sorted(by_check.items()))
    log.error("money reconciliation report %s: %s mismatch(es) (%s)", report.pk, len(findings), summary)
    lines = [f"- [{f.check_name}] {f.message} ({', '.join(f.rows)})" for f in findings[:50]]
    try:
        mail_admins(
            subject=f"Money reconciliation: {len(findings)} mismatch(es)",
            message=f"Report {report.pk} ({summary}):\n" + "\n".join(lines) + "\n",
        )
    except Exception:  # the report is written and the ERROR line out: a mail failure must not hide them
        log.exception("money reconciliation report %s: mail to ADMINS failed", report.pk)
    organizations = sorted({f.organization_id for f in findings if f.organization_id is not None})
    results = money_mismatch_found.send_robust(
        sender=MoneyReconciliationReport, report_id=report.pk, organization_ids=organizations
    )
    for receiver, result in results:
        if isinstance(result, Exception):
            log.error("money_mismatch_found listener %r failed for report %s", receiver, report.pk, exc_info=result)


# --- wallet's own checks ----------------------------------------------------------------------------


def check_wallet_balances() -> Iterable[Finding]:
    """Each wallet's balance equals the sum of its ledger."""
    wallets = (
        Wallet.objects.annotate(ledger_sum=Coalesce(Sum("entries__amount"), Value(0)))
        .exclude(balance=F("ledger_sum"))
        .order_by("pk")
        .values("pk", "user_id", "balance", "ledger_sum")
    )
    for w in wallets.iterator():
        yield Finding(
            message=f"Wallet {w['pk']} holds {w['balance']} but its ledger sums to {w['ledger_sum']}.",
            rows=[row("wallet.wallet", w["pk"])],
            details={"user_id": w["user_id"], "balance": w["balance"], "ledger_sum": w["ledger_sum"]},
        )


def check_topups() -> Iterable[Finding]:
    """Every top-up credit matches a confirmed provider transaction of the same customer and amount,
    and every confirmed transaction was credited."""
    credited = (
        TopUp.objects.filter(ledger_entry__isnull=False)
        .exclude(
            status=TopUp.Status.SUCCEEDED,
            ledger_entry__amount=F("amount"),
            ledger_entry__kind=LedgerEntry.Kind.TOPUP,
            ledger_entry__wallet__user_id=F("user_id"),
        )
        .order_by("pk")
        .values("pk", "status", "amount", "user_id", "ledger_entry_id", "ledger_entry__amount", "provider_txn_id")
    )
    for t in credited.iterator():
        yield Finding(
            message=(
                f"Top-up {t['pk']} ({t['status']}, {t['amount']}) does not match its credit "
                f"{t['ledger_entry_id']} ({t['ledger_entry__amount']})."
            ),
            rows=[row("wallet.topup", t["pk"]), row("wallet.ledgerentry", t["ledger_entry_id"])],
            details={"provider_txn_id": t["provider_txn_id"]},
        )
    orphans = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TOPUP, topup__isnull=True)
        .order_by("pk")
        .values("pk", "wallet_id", "amount", "idempotency_key")
    )
    for e in orphans.iterator():
        yield Finding(
            message=f"Ledger entry {e['pk']} credits {e['amount']} as a top-up with no provider transaction.",
            rows=[row("wallet.ledgerentry", e["pk"]), row("wallet.wallet", e["wallet_id"])],
            details={"idempotency_key": e["idempotency_key"]},
        )
    uncredited = TopUp.objects.filter(status=TopUp.Status.SUCCEEDED, ledger_entry__isnull=True).order_by("pk")
    for t in uncredited.values("pk", "amount").iterator():  # the database forbids it; checked all the same
        yield Finding(
            message=f"Top-up {t['pk']} succeeded but was never credited.", rows=[row("wallet.topup", t["pk"])]
        )


def connect() -> None:
    register_check("wallet_balances", check_wallet_balances, label=_("Wallet balances"))
    register_check("topups", check_topups, label=_("Top-ups credited"))
