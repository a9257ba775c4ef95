"""The ledger's notes in the reader's language. A ledger row keeps the note its writer gave, in
English (an audit record does not change with the reader); pages show it translated: fixed notes
by their msgid, the notes with a varying part by their pattern. Anything else is data (a voucher's
title, an operator's message) and is shown as written."""

import re

from django.utils.translation import gettext, gettext_noop

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
    (
        re.compile(r"^withdrawn \(compensation run #(?P<run>\d+)\): (?P<message>.*)$", re.DOTALL),
        gettext_noop("withdrawn (compensation run #%(run)s): %(message)s"),
    ),
]

PROVIDERS = {"sandbox": gettext_noop("sandbox payment"), "sandbox_async": gettext_noop("sandbox payment (delayed)")}


def ledger_note(memo: str) -> str:
    if not memo:
        return ""
    if memo in FIXED:
        return gettext(memo)
    for pattern, msgid in PATTERNS:
        found = pattern.match(memo)
        if found:
            parts = found.groupdict()
            if "provider" in parts:
                parts["provider"] = gettext(PROVIDERS.get(parts["provider"], parts["provider"]))
            return gettext(msgid) % parts
    return memo


def provider_label(provider: str) -> str:
    """A payment provider's name in the reader's language (unknown providers as stored)."""
    return gettext(PROVIDERS[provider]) if provider in PROVIDERS else provider
