"""Run the money reconciliation once (the same code as the daily task wallet.tasks.reconcile_money)."""

from django.core.management.base import BaseCommand, CommandError

from wallet.reconciliation import money_reconcile


class Command(BaseCommand):
    help = (
        "Check that balances equal their ledgers, top-ups match provider transactions, and every paid order, "
        "refund and parking payment has its ledger entry. Writes a report; exits 1 on any mismatch."
    )

    def handle(self, *args, **options):
        report = money_reconcile()
        for f in report.findings.order_by("check_name", "id"):
            self.stdout.write(f"[{f.check_name}] {f.message} rows={','.join(f.rows)}")
        checks = ", ".join(report.checks)
        if not report.clean:
            raise CommandError(
                f"Report {report.pk}: {report.findings_count} mismatch(es) (checks: {checks}).", returncode=1
            )
        self.stdout.write(self.style.SUCCESS(f"Report {report.pk}: money adds up (checks: {checks})."))
