"""A missing database or Redis in real mode: one line that names it and says how to create or start
it, exit code 3, at once (manage.py checks before any command that needs them; `make run` starts
with `manage.py migrate`)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args, database_url: str, redis_url: str):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "DEBUG": "false"}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def _url(name: str, port=None) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{port or db['PORT']}/{name}"


def _one_line(res) -> str:
    assert res.returncode == 3, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "couldn't get a connection" not in res.stderr and "Traceback" not in res.stderr
    return lines[0]


def test_a_missing_database_names_it_and_says_how_to_create_it():
    db = connection.settings_dict
    line = _one_line(_manage("migrate", database_url=_url("pm_no_such_db"), redis_url=os.environ["REDIS_URL"]))
    assert "'pm_no_such_db' does not exist" in line
    assert line.endswith(f"createdb -h {db['HOST']} -U {db['USER']} pm_no_such_db")


def test_postgresql_not_running_says_how_to_start_it():
    line = _one_line(_manage("seed_demo", database_url=_url("parkmarket", port=1), redis_url=os.environ["REDIS_URL"]))
    assert "PostgreSQL is not running at" in line and ":1;" in line and "pg_ctlcluster" in line


@pytest.mark.django_db
def test_redis_not_running_says_how_to_start_it():
    line = _one_line(
        _manage("migrate", database_url=_url(connection.settings_dict["NAME"]), redis_url="redis://127.0.0.1:1/5")
    )
    assert line.startswith("ParkMarket: Redis is not reachable at 127.0.0.1:1") and "redis-server" in line


@pytest.mark.django_db
def test_a_command_runs_when_both_are_there():
    res = _manage(
        "showmigrations",
        "accounts",
        database_url=_url(connection.settings_dict["NAME"]),
        redis_url=os.environ["REDIS_URL"],
    )
    assert res.returncode == 0, res.stderr
    assert "accounts" in res.stdout


def test_commands_that_need_neither_are_not_stopped():
    res = _manage("check", database_url=_url("pm_no_such_db"), redis_url="redis://127.0.0.1:1/5")
    assert res.returncode == 0, res.stderr
