"""Fill empty zh_Hans translations from locale/zh_Hans.tsv (msgid<TAB>translation) and compile.

Usage: `make messages` (makemessages, then this script). Existing translations are kept; strings
with no entry in the table are listed on stderr."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PO = HERE / "zh_Hans" / "LC_MESSAGES" / "django.po"
TABLE = HERE / "zh_Hans.tsv"


def _unquote(s: str) -> str:
    return s.strip()[1:-1].replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def main() -> int:
    table = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            src, dst = line.split("\t", 1)
            table[src] = dst
    blocks = PO.read_text(encoding="utf-8").replace("charset=CHARSET", "charset=UTF-8").split("\n\n")
    out, missing = [], []
    for block in blocks:
        lines = block.split("\n")
        try:
            i_id = next(i for i, ln in enumerate(lines) if ln.startswith("msgid "))
            i_str = next(i for i, ln in enumerate(lines) if ln.startswith("msgstr"))
        except StopIteration:
            out.append(block)
            continue
        # A plural entry (msgid_plural, msgstr[0]): Chinese has one form, keyed by the singular.
        i_plural = next((i for i in range(i_id, i_str) if lines[i].startswith("msgid_plural ")), i_str)
        str_prefix = "msgstr[0] " if i_plural < i_str else "msgstr "
        msgid = "".join(_unquote(ln.removeprefix("msgid ")) for ln in lines[i_id:i_plural])
        msgstr = "".join(
            _unquote(ln.removeprefix("msgstr[0] ").removeprefix("msgstr ")) for ln in lines[i_str:] if ln.strip()
        )
        if msgid and any(ln.startswith("#,") and "fuzzy" in ln for ln in lines[:i_id]):
            # A guess of msgmerge's from a similar string: never trust it, translate from the table.
            head = [ln for ln in lines[:i_id] if not ln.startswith("#|")]
            head = [ln.replace(", fuzzy", "").replace("#, fuzzy", "") for ln in head]
            head = [ln for ln in head if ln.strip() not in ("#,", "")]
            i_id, lines = len(head), head + lines[i_id:i_str]
            i_str = len(lines)
            lines.append(str_prefix + '""')
            msgstr = ""
        if msgid and not msgstr:
            if msgid in table:
                lines = lines[:i_str] + [str_prefix + _quote(table[msgid])]
            else:
                missing.append(msgid)
        lines = [ln for ln in lines if ln != "#, fuzzy"] if msgid == "" else lines
        out.append("\n".join(lines))
    PO.write_text("\n\n".join(out), encoding="utf-8")
    if missing:
        print(f"{len(missing)} strings without a translation:", *missing, sep="\n  ", file=sys.stderr)
    subprocess.run(["msgfmt", "--check-format", "-o", str(PO.with_suffix(".mo")), str(PO)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
