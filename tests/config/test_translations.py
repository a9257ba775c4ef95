"""Chinese is complete: every string the product marks has a translation, none is a fuzzy guess,
the compiled catalog is the one the .po says, and the .po holds every string of the code
(`make messages` was run)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[dict]:
    """(flags, msgid, msgstr) of each entry of a .po file; plural entries by msgstr[0]."""

    def unquote(lines):
        return "".join(re.match(r'^(?:msgid|msgid_plural|msgstr(?:\[\d\])?)?\s*"(.*)"$', ln).group(1) for ln in lines)

    entries = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith("#~")]
        flags = " ".join(ln for ln in lines if ln.startswith("#,"))
        body = [ln for ln in lines if not ln.startswith("#")]
        if not body:
            continue
        kinds, current = {}, None
        for ln in body:
            head = ln.split(" ", 1)[0]
            if head in ("msgid", "msgid_plural", "msgstr", "msgstr[0]"):
                current = head
                kinds[current] = [ln]
            elif current:
                kinds[current].append(ln)
        msgid = unquote(kinds.get("msgid", []))
        msgstr = unquote(kinds.get("msgstr", kinds.get("msgstr[0]", [])))
        entries.append({"flags": flags, "msgid": msgid, "msgstr": msgstr})
    return entries


def test_every_string_is_translated_and_none_is_fuzzy():
    entries = [e for e in _entries(PO.read_text(encoding="utf-8")) if e["msgid"]]
    assert len(entries) > 300
    untranslated = [e["msgid"] for e in entries if not e["msgstr"]]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == [], f"untranslated: {untranslated}"
    assert fuzzy == [], f"fuzzy: {fuzzy}"


def test_the_checker_sees_an_untranslated_and_a_fuzzy_entry():
    sample = (
        '#, fuzzy\nmsgid "Left"\nmsgstr "剩余"\n\nmsgid "Right"\nmsgstr ""\n\n'
        'msgid "%(n)s one"\nmsgid_plural "%(n)s many"\nmsgstr[0] ""\n'
    )
    entries = _entries(sample)
    assert [e["msgid"] for e in entries if not e["msgstr"]] == ["Right", "%(n)s one"]
    assert [e["msgid"] for e in entries if "fuzzy" in e["flags"]] == ["Left"]


def test_placeholders_survive_the_translation():
    for e in _entries(PO.read_text(encoding="utf-8")):
        if e["msgid"]:
            assert sorted(re.findall(r"%\(\w+\)s", e["msgid"])) == sorted(re.findall(r"%\(\w+\)s", e["msgstr"])), e


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext tools missing")
def test_the_compiled_catalog_is_the_po(tmp_path):
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(out), str(PO)], check=True)
    assert out.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run `make messages`"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext tools missing")
def test_the_po_holds_every_string_of_the_code(tmp_path):
    """makemessages in a copy of the project: no msgid of the code may be missing from the .po."""
    import os
    import sys

    copy = tmp_path / "project"
    skip = shutil.ignore_patterns(".venv", ".git", "test-output", "staticfiles", "var", "__pycache__", "*_cache")
    shutil.copytree(ROOT, copy, ignore=skip)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command;"
        "call_command('makemessages', locale=['zh_Hans'], no_obsolete=True, verbosity=0,"
        " ignore_patterns=['tests/*'])"
    )
    subprocess.run([sys.executable, "-c", script], cwd=copy, env=env, check=True, timeout=300)
    fresh = {e["msgid"] for e in _entries((copy / PO.relative_to(ROOT)).read_text(encoding="utf-8")) if e["msgid"]}
    known = {e["msgid"] for e in _entries(PO.read_text(encoding="utf-8")) if e["msgid"]}
    assert sorted(fresh - known) == [], "strings not in the .po: run `make messages` and translate them"
