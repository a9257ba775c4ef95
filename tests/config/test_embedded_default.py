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
    "health": c.get("/readyz").json(),
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


WRITER = r"""
import sys, time, django
django.setup()
from django.contrib.auth import get_user_model
from django.db import transaction
User = get_user_model()
start_at, rounds = float(sys.argv[1]), int(sys.argv[2])
errors = 0
while time.time() < start_at:  # every process starts writing at the same moment
    time.sleep(0.005)
for _ in range(rounds):
    try:
        with transaction.atomic():  # read, then write: the pattern of every service
            value = int(User.objects.filter(username="counter").values_list("first_name", flat=True)[0])
            User.objects.filter(username="counter").update(first_name=str(value + 1))
    except Exception as exc:
        errors += 1
        print("ERROR", exc, file=sys.stderr)
print(errors)
"""


def test_embedded_sqlite_is_shared_safely_by_several_processes(embedded_env):
    """gunicorn workers and Celery processes share one SQLite file: concurrent read-then-write
    transactions neither fail with "database is locked" nor lose an update (IMMEDIATE transactions
    take the write lock at BEGIN; without them about a quarter of these transactions fail)."""
    import time

    def run(*args):
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=embedded_env, capture_output=True, text=True, timeout=180
        )

    assert run("manage.py", "migrate", "--noinput", "auth").returncode == 0
    setup = "import django; django.setup(); from django.contrib.auth import get_user_model as g; "
    assert run("-c", setup + "g().objects.create(username='counter', first_name='0')").returncode == 0
    processes, rounds = 4, 150
    start_at = str(time.time() + 3)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, start_at, str(rounds)],
            cwd=ROOT,
            env=embedded_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    outputs = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0] * processes, outputs
    assert [out.strip() for out, _ in outputs] == ["0"] * processes, [err[-500:] for _, err in outputs]
    final = run("-c", setup + "print(g().objects.get(username='counter').first_name)")
    assert final.stdout.strip() == str(processes * rounds)


def test_embedded_runtime_files_live_under_data_dir(embedded_env):
    """Web, worker and beat find one another through DATA_DIR: the SQLite file, the Celery queue
    folders, results, cache and beat schedule all live there."""
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "o = s.CELERY_BROKER_TRANSPORT_OPTIONS; print(json.dumps([s.DATABASES['default']['NAME'], "
        "o['data_folder_in'], o['data_folder_out'], o['processed_folder'], o['control_folder'], "
        "s.CELERY_RESULT_BACKEND.removeprefix('file://'), s.CACHES['default']['LOCATION'], "
        "s.CELERY_BEAT_SCHEDULE_FILENAME, s.DATABASES['default']['OPTIONS']['transaction_mode']]))"
    )
    res = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=embedded_env, capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr
    *paths, mode = json.loads(res.stdout.strip().splitlines()[-1])
    data_dir = Path(embedded_env["DATA_DIR"])
    assert all(Path(p).is_relative_to(data_dir) for p in paths), paths
    assert mode == "IMMEDIATE"
