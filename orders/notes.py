"""An order event's reason in the reader's language (config.stored_text: the event keeps the
English its writer gave; the admin shows it translated)."""

import re

from django.utils.translation import gettext_noop

from config.money import format_money
from config.stored_text import translate_stored
from wallet.notes import WITHDRAWN

FIXED = {
    gettext_noop("purchased"),
    gettext_noop("paid from wallet"),
    gettext_noop("cancelled by customer"),
    gettext_noop("refunded at the customer's request"),
    gettext_noop("payment window closed"),
    gettext_noop("payment window closed (seen at payment)"),
    gettext_noop("payment window closed (seen at cancel)"),
    gettext_noop("payment window closed (seen at compensation)"),
}

PATTERNS = [
    (
        re.compile(r"^Applied to parking payment (?P<payment>\d+)$"),
        gettext_noop("Applied to parking payment %(payment)s"),
    ),
    (re.compile(r"^intake: (?P<code>[a-z_]+)$"), gettext_noop("not written by the intake (%(code)s)")),
    WITHDRAWN,
    (
        re.compile(r"^compensated (?P<amount>\d+) \(run #(?P<run>\d+)\): (?P<message>.*)$", re.DOTALL),
        gettext_noop("compensated %(amount)s (compensation run #%(run)s): %(message)s"),
    ),
]


def _parts(parts: dict[str, str]) -> dict[str, str]:
    if "amount" in parts:
        return {**parts, "amount": format_money(int(parts["amount"]))}
    return parts


def event_reason(reason: str) -> str:
    return translate_stored(reason, fixed=FIXED, patterns=PATTERNS, parts=_parts)
