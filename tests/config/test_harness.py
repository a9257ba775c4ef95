"""The test harness stops loudly (exit 3, how to start the servers) instead of skipping, and never
flushes a Redis database the running product may use."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _collect(**overrides) -> subprocess.CompletedProcess:
    # --collect-only: the harness's checks run, no test runs (so nothing is ever flushed here).
    env = {**os.environ, **overrides}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/coupons/test_home.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("override", "what"),
    [
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/x"}, "PostgreSQL is not reachable"),
        ({"REDIS_URL": "redis://127.0.0.1:1/9"}, "Redis is not reachable"),
    ],
    ids=["postgres-down", "redis-down"],
)
def test_unreachable_server_stops_the_run_with_how_to_start_it(override, what):
    res = _collect(**override)
    assert res.returncode == 3, res.stdout + res.stderr
    out = res.stdout + res.stderr
    assert what in out and "Start them with" in out


def test_redis_database_0_is_refused_because_every_test_flushes_its_database():
    # The README's real mode runs the product on Redis database 0; tests flush theirs per test.
    res = _collect(REDIS_URL="redis://127.0.0.1:6379/0")
    assert res.returncode == 3, res.stdout + res.stderr
    assert "database 0" in res.stdout + res.stderr
