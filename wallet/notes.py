"""The ledger's notes in the reader's language (config.stored_text: stored in English, shown
translated)."""

import re

from django.utils.translation import gettext, gettext_noop

from config.stored_text import translate_stored

# A withdrawal by a compensation run: the refund's ledger note and the order's event say the same.
WITHDRAWN = (
    re.compile(r"^withdrawn \(compensation run #(?P<run>\d+)\): (?P<message>.*)$", re.DOTALL),
    gettext_noop("withdrawn (compensation run #%(run)s): %(message)s"),
)

FIXED = {
    gettext_noop("Opening balance"),
    gettext_noop("Demo opening balance"),
    gettext_noop("refunded at the customer's request"),
    gettext_noop("cancelled by customer"),
    gettext_noop("payment window closed"),
}

PATTERNS = [
    (re.compile(r"^Top-up via (?P<provider>.+)$"), gettext_noop("Top-up via %(provider)s")),
    (re.compile(r"^Parking (?P<plate>\S+) at (?P<lot>.+)$"), gettext_noop("Parking %(plate)s at %(lot)s")),
    (re.compile(r"^(?P<n>\d+) parking coupons$"), gettext_noop("%(n)s parking coupons")),
    (re.compile(r"^(?P<n>\d+) unused parking coupons$"), gettext_noop("%(n)s unused parking coupons")),
    WITHDRAWN,
]

PROVIDERS = {"sandbox": gettext_noop("sandbox payment"), "sandbox_async": gettext_noop("sandbox payment (delayed)")}


def _parts(parts: dict[str, str]) -> dict[str, str]:
    if "provider" in parts:
        return {**parts, "provider": provider_label(parts["provider"])}
    return parts


def ledger_note(memo: str) -> str:
    return translate_stored(memo, fixed=FIXED, patterns=PATTERNS, parts=_parts)


def provider_label(provider: str) -> str:
    """A payment provider's name in the reader's language (unknown providers as stored)."""
    return gettext(PROVIDERS[provider]) if provider in PROVIDERS else provider
