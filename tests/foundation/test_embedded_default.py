"""Smoke test of the embedded default: no DATABASE_URL or REDIS_URL, so SQLite in WAL mode and
Celery on kombu's filesystem transport, with a real worker process answering a task."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.db import connection
from django.test import Client
from config.celery import app
c = Client()
with connection.cursor() as cur:
    cur.execute("PRAGMA journal_mode")
    mode = cur.fetchone()[0]
result = app.send_task("config.ping")
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "journal_mode": mode,
    "broker": app.conf.broker_url,
    "gate": settings.SECKILL_GATE,
    "schema": c.get("/api/v1/schema/").status_code,
    "health": c.get("/healthz").json(),
    "ping": result.get(timeout=90),
}))
"""


@pytest.fixture
def embedded_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATA_DIR=str(tmp_path / "var"),
        DEBUG="false",
        ALLOWED_HOSTS="testserver,localhost",
    )
    return env


def test_embedded_default_runs_on_sqlite_and_local_celery(embedded_env):
    def run(*args, **kw):
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=embedded_env, capture_output=True, text=True, timeout=180, **kw
        )

    migrate = run("manage.py", "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr
    seed = run("manage.py", "seed_demo")
    assert seed.returncode == 0, seed.stderr
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=embedded_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        probe = run("-c", PROBE)
    finally:
        worker.terminate()
        worker_out = worker.communicate(timeout=30)[0]
    assert probe.returncode == 0, probe.stderr + "\n--- worker ---\n" + worker_out
    facts = json.loads(probe.stdout.strip().splitlines()[-1])
    assert facts["engine"] == "django.db.backends.sqlite3"
    assert facts["journal_mode"] == "wal"
    assert facts["broker"].startswith("filesystem")
    assert facts["gate"] == "db"
    assert facts["schema"] == 200
    assert facts["health"] == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}
    assert facts["ping"] == "pong"
