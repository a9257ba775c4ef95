"""A partnership statement as CSV: one organization's side of one month, one row per redemption.
The operator API and the admin export the same file."""

import csv
import io
from datetime import date

from config.api import iso_time

from .models import Partnership, SettlementEntry

CSV_HEADER = [
    "entry",
    "partnership",
    "month",
    "counterparty",
    "lot",
    "plate",
    "payment",
    "coupon",
    "amount",
    "created_at",
]


def month_label(month: date) -> str:
    return month.strftime("%Y-%m")


def _text(value: str) -> str:
    """A name another organization typed: never read as a formula by a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def statement_csv(entries: list[SettlementEntry]) -> str:
    """Amounts in fen, signed from the organization's side (positive: owed to it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for e in entries:
        writer.writerow(
            [
                e.pk,
                e.partnership_id,
                month_label(e.month),
                _text(e.counterparty.name),
                _text(e.payment.session.lot.name),
                _text(e.payment.session.plate),
                e.payment_id,
                e.coupon_id,
                e.amount,
                iso_time(e.created_at),
            ]
        )
    return out.getvalue()


def statement_filename(partnership: Partnership, month: date) -> str:
    return f"partnership-{partnership.pk}-{month_label(month)}.csv"
