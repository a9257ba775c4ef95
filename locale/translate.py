"""Fill zh_Hans msgstr entries from locale/zh_Hans.tsv (msgid<TAB>translation), then compile.

Usage: .venv/bin/python locale/translate.py   (after `make messages` has refreshed django.po)
Only empty msgstr entries of single-line msgids are filled; existing translations are kept."""

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PO = HERE / "zh_Hans" / "LC_MESSAGES" / "django.po"
TABLE = HERE / "zh_Hans.tsv"


def main() -> int:
    pairs = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            src, dst = line.split("\t", 1)
            pairs[src] = dst
    text = PO.read_text(encoding="utf-8")
    text = text.replace('#, fuzzy\nmsgid ""', 'msgid ""', 1)

    def fill(m: re.Match) -> str:
        src = m.group(1)
        dst = pairs.get(src.replace('\\"', '"'))
        if dst is None:
            return m.group(0)
        return f'msgid "{src}"\nmsgstr "{dst.replace(chr(34), chr(92) + chr(34))}"'

    text = re.sub(r'msgid "((?:[^"\\]|\\.)+)"\nmsgstr ""(?!\n")', fill, text)
    text = text.replace("charset=CHARSET", "charset=UTF-8")
    PO.write_text(text, encoding="utf-8")
    missing = re.findall(r'msgid "((?:[^"\\]|\\.)+)"\nmsgstr ""(?!\n")', text)
    if missing:
        print(f"{len(missing)} strings without a translation, e.g. {missing[:5]}", file=sys.stderr)
    mo = PO.with_suffix(".mo")
    subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(PO)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
