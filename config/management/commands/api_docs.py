"""docs/API.md, the repository's API reference, generated from the OpenAPI schema the running
product serves (`make api-docs`). `--check` exits 1 when the file is not what the schema says."""

import difflib
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

TARGET = Path(settings.BASE_DIR) / "docs" / "API.md"
METHODS = ("get", "post", "put", "patch", "delete")


def _type(schema: dict) -> str:
    if not schema:
        return "any"
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for combo in ("oneOf", "anyOf", "allOf"):
        if combo in schema:
            return " or ".join(_type(s) for s in schema[combo])
    kind = schema.get("type", "object")
    if kind == "array":
        text = f"array of {_type(schema.get('items', {}))}"
    elif "enum" in schema:
        text = " \\| ".join(f"`{v}`" for v in schema["enum"] if v not in ("", None)) or kind
    else:
        text = kind + (f" ({schema['format']})" if "format" in schema else "")
    if schema.get("nullable"):
        text += ", nullable"
    return text


def _limits(schema: dict) -> str:
    parts = []
    for key, label in (("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"), ("maxLength", "length ≤")):
        if key in schema:
            parts.append(f"{label} {schema[key]}")
    if "pattern" in schema:
        parts.append(f"pattern `{schema['pattern']}`")
    if schema.get("readOnly"):
        parts.append("read-only")
    if "default" in schema:
        parts.append(f"default `{schema['default']}`")
    return ", ".join(parts)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _body_ref(content: dict) -> str:
    for media in ("application/json", *content):
        if media in content:
            return _type(content[media].get("schema", {}))
    return "—"


def render(schema: dict) -> str:
    info = schema.get("info", {})
    out = [
        f"# {info.get('title', 'API')} {info.get('version', '')} — API reference",
        "",
        "Generated from the OpenAPI schema (`/api/v1/schema/`) by `make api-docs`",
        "(`python manage.py api_docs`); do not edit by hand — a test fails when it is out of date.",
        "The interactive version is served at `/api/v1/docs/`.",
        "",
        'Every error answers `{"error": {"code", "message", "details"}}`. Authentication:',
        "`Authorization: Token <key>` unless an operation says it needs none.",
        "",
        "## Operations",
        "",
    ]
    for path in sorted(schema.get("paths", {})):
        item = schema["paths"][path]
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            out.append(f"### `{method.upper()} {path}`")
            out.append("")
            if op.get("description") or op.get("summary"):
                out.extend([_cell(op.get("summary") or op.get("description")), ""])
            security = op.get("security")
            if security is not None and all(not s for s in security):
                out.extend(["No authentication.", ""])
            params = op.get("parameters", [])
            if params:
                out.extend(["| parameter | in | type | required | notes |", "|---|---|---|---|---|"])
                for p in params:
                    notes = _cell(p.get("description", "")) or _limits(p.get("schema", {}))
                    out.append(
                        f"| `{p['name']}` | {p['in']} | {_type(p.get('schema', {}))} | "
                        f"{'yes' if p.get('required') else 'no'} | {notes} |"
                    )
                out.append("")
            body = op.get("requestBody")
            if body:
                out.extend([f"Request body: {_body_ref(body.get('content', {}))}", ""])
            out.extend(["| status | body | description |", "|---|---|---|"])
            for status in sorted(op.get("responses", {})):
                resp = op["responses"][status]
                body_ref = _body_ref(resp.get("content", {})) if resp.get("content") else "—"
                out.append(f"| {status} | {body_ref} | {_cell(resp.get('description', ''))} |")
            out.append("")
    out.extend(["## Schemas", ""])
    for name in sorted(schema.get("components", {}).get("schemas", {})):
        comp = schema["components"]["schemas"][name]
        out.extend([f"### {name}", ""])
        if comp.get("description"):
            out.extend([_cell(comp["description"]), ""])
        props = comp.get("properties")
        if props:
            required = set(comp.get("required", []))
            out.extend(["| field | type | required | notes |", "|---|---|---|---|"])
            for field, fs in props.items():
                notes = "; ".join(x for x in (_limits(fs), _cell(fs.get("description", ""))) if x)
                out.append(f"| `{field}` | {_type(fs)} | {'yes' if field in required else 'no'} | {notes} |")
        else:
            out.append(f"{_type(comp)}" + (f": {', '.join(f'`{v}`' for v in comp['enum'])}" if "enum" in comp else ""))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def generate() -> str:
    from drf_spectacular.generators import SchemaGenerator

    return render(SchemaGenerator().get_schema(request=None, public=True))


class Command(BaseCommand):
    help = "Write docs/API.md from the OpenAPI schema (--check: exit 1 when it is out of date)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Compare only; exit 1 with a diff when stale.")

    def handle(self, *args, check: bool, **options):
        text = generate()
        current = TARGET.read_text() if TARGET.exists() else ""
        if check:
            if current != text:
                diff = difflib.unified_diff(
                    current.splitlines(), text.splitlines(), "docs/API.md", "schema", lineterm="", n=1
                )
                self.stderr.write("\n".join(list(diff)[:60]))
                raise CommandError("docs/API.md is out of date with the schema: run `make api-docs`.")
            self.stdout.write("docs/API.md is up to date.")
            return
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        TARGET.write_text(text)
        self.stdout.write(f"Wrote {TARGET} ({len(text.splitlines())} lines).")
