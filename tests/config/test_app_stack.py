"""The apps form a stack: each imports only apps below it, at module level or inside a function.

    config (core) -> accounts -> wallet -> coupons -> orders -> seckill -> parking

A lower app tells a higher one by a signal (sent on commit) or a registry the higher app fills in
its AppConfig.ready(); it never imports it. config's composition root (settings, urls, celery,
wsgi, asgi) wires everything together and may import any app; the rest of config imports none."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STACK = ["config", "accounts", "wallet", "coupons", "orders", "seckill", "parking"]
COMPOSITION_ROOT = ("config/settings/", "config/urls.py", "config/celery.py", "config/wsgi.py", "config/asgi.py")


def _imported_apps(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import anywhere in the module, and of
    importlib.import_module("...") with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def stack_violations(root: Path, stack: list[str], composition_root: tuple[str, ...]) -> list[str]:
    rank = {app: i for i, app in enumerate(stack)}
    violations = []
    for app in stack:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if relative.startswith(composition_root):
                continue
            for line, target in _imported_apps(ast.parse(path.read_text(), filename=relative)):
                if target in rank and rank[target] > rank[app]:
                    violations.append(f"{relative}:{line} imports {target} ({app} sits below {target})")
    return violations


def test_no_app_imports_an_app_above_it():
    assert stack_violations(ROOT, STACK, COMPOSITION_ROOT) == []


def test_every_project_app_has_its_place_in_the_stack():
    from django.conf import settings

    project_apps = [app for app in settings.INSTALLED_APPS if (ROOT / app / "apps.py").exists()]
    assert project_apps == STACK[1:], "INSTALLED_APPS lists the project's apps in stack order"


def test_the_check_sees_an_upward_import_hidden_in_a_function(tmp_path):
    """The checker is not vacuous: an import inside a function, or through import_module, counts."""
    for app in ("low", "high"):
        (tmp_path / app).mkdir()
        (tmp_path / app / "__init__.py").write_text("")
    (tmp_path / "low" / "services.py").write_text(
        "import os\n\n\ndef f():\n    from high.models import Thing\n    return Thing\n"
    )
    (tmp_path / "low" / "tasks.py").write_text("import importlib\n\nmod = importlib.import_module('high.tasks')\n")
    (tmp_path / "high" / "views.py").write_text("from low.services import f\n")
    found = stack_violations(tmp_path, ["low", "high"], ())
    assert found == [
        "low/services.py:5 imports high (low sits below high)",
        "low/tasks.py:3 imports high (low sits below high)",
    ]
