"""Stored English text shown in the reader's language. Audit rows (ledger notes, order-event
reasons) keep what their writer gave, in English: a record does not change with the reader. Pages
and the admin show them translated: a fixed text by its msgid, a text with a varying part by its
pattern. Anything else is data (a voucher's title, an operator's message) and is shown as written."""

import re
from collections.abc import Callable, Collection, Sequence

from django.utils.translation import gettext

Pattern = tuple[re.Pattern[str], str]


def translate_stored(
    text: str,
    *,
    fixed: Collection[str],
    patterns: Sequence[Pattern],
    parts: Callable[[dict[str, str]], dict[str, str]] | None = None,
) -> str:
    """`text` translated when it is one of `fixed` or matches one of `patterns` (a regex with
    named groups, and the msgid that says the same with %(name)s placeholders); `parts`, when
    given, translates the varying parts too."""
    if not text:
        return ""
    if text in fixed:
        return gettext(text)
    for pattern, msgid in patterns:
        found = pattern.match(text)
        if found:
            values = found.groupdict()
            return gettext(msgid) % (parts(values) if parts else values)
    return text
