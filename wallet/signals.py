"""Signals other apps listen to. `wallet_credited` fires after the commit of any credit (top-up,
refund, compensation): parking settles open debts when it arrives."""

from django.dispatch import Signal

# kwargs: user_id, amount, kind, entry_id
wallet_credited = Signal()

# kwargs: report_id, organization_ids (the organizations the findings involve). Sent after the
# commit of a money reconciliation report with findings.
money_mismatch_found = Signal()
