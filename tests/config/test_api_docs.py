"""docs/API.md, the repository's API reference, is what the schema says (regenerate: make api-docs)."""

import pytest
from django.core.management import CommandError, call_command

from config.management.commands import api_docs


def test_docs_api_md_is_up_to_date_with_the_schema():
    assert api_docs.TARGET.exists(), "docs/API.md is missing: run `make api-docs`"
    assert api_docs.TARGET.read_text() == api_docs.generate(), "docs/API.md is out of date: run `make api-docs`"


def test_the_reference_lists_every_operation_of_the_schema():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    text = api_docs.render(schema)
    for path, item in schema["paths"].items():
        for method in item:
            if method in api_docs.METHODS:
                assert f"### `{method.upper()} {path}`" in text


def test_check_mode_fails_on_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "API.md"
    stale.write_text("# old\n")
    monkeypatch.setattr(api_docs, "TARGET", stale)
    with pytest.raises(CommandError, match="make api-docs"):
        call_command("api_docs", "--check")
    call_command("api_docs")
    call_command("api_docs", "--check")


def test_the_readme_links_to_the_reference():
    readme = (api_docs.TARGET.parents[1] / "README.md").read_text()
    assert "(docs/API.md)" in readme
    assert "API.md` of the product" not in readme
