"""Production settings refuse to start without their secrets, and `check --deploy` is clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, **env_overrides):
    drop = ("SECRET_KEY", "ALLOWED_HOSTS", "PAYMENT_WEBHOOK_SECRET", "PAYMENT_PROVIDERS", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_secret_key():
    res = _manage("check", ALLOWED_HOSTS="park.example.com", PAYMENT_WEBHOOK_SECRET="w" * 40)
    assert res.returncode != 0
    assert "SECRET_KEY" in res.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    res = _manage("check", SECRET_KEY="x" * 60, PAYMENT_WEBHOOK_SECRET="w" * 40)
    assert res.returncode != 0
    assert "ALLOWED_HOSTS" in res.stderr


def test_check_deploy_is_clean():
    res = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k3y-" + "z" * 60,
        ALLOWED_HOSTS="park.example.com",
        PAYMENT_WEBHOOK_SECRET="w" * 40,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "no issues" in res.stdout


def test_production_refuses_to_start_without_a_webhook_secret():
    res = _manage("check", SECRET_KEY="x" * 60, ALLOWED_HOSTS="park.example.com")
    assert res.returncode != 0
    assert "PAYMENT_WEBHOOK_SECRET" in res.stderr


def test_production_enables_no_sandbox_payment_provider_by_default():
    probe = "from django.conf import settings; print(settings.PAYMENT_PROVIDERS)"
    res = _manage("shell", "-c", probe, SECRET_KEY="x" * 60, ALLOWED_HOSTS="h", PAYMENT_WEBHOOK_SECRET="w" * 40)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_production_health_check_answers_plain_http_probes():
    """Load balancers and orchestrators probe /healthz over plain HTTP, inside the proxy: it must
    answer there, not redirect to https like every other page."""
    probe = (
        "from django.test import Client; c = Client(); "
        "print(c.get('/healthz', HTTP_HOST='park.example.com').status_code, "
        "c.get('/', HTTP_HOST='park.example.com').status_code)"
    )
    res = _manage(
        "shell", "-c", probe, SECRET_KEY="x" * 60, ALLOWED_HOSTS="park.example.com", PAYMENT_WEBHOOK_SECRET="w" * 40
    )
    assert res.returncode == 0, res.stderr
    health, home = res.stdout.strip().splitlines()[-1].split()
    assert health in ("200", "503")
    assert home == "301"


def test_production_answers_json_only():
    probe = "from django.conf import settings; print(settings.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES'])"
    res = _manage("shell", "-c", probe, SECRET_KEY="x" * 60, ALLOWED_HOSTS="h", PAYMENT_WEBHOOK_SECRET="w" * 40)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "['rest_framework.renderers.JSONRenderer']"


def test_production_refuses_to_start_without_a_database_url():
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 60,
        ALLOWED_HOSTS="h",
        PAYMENT_WEBHOOK_SECRET="w" * 40,
    )
    res = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert res.returncode != 0
    assert "DATABASE_URL" in res.stderr
