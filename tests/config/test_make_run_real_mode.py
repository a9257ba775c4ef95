"""`make run` in real mode on a fresh clone, as the README tells a newcomer: a database of its own
on the PostgreSQL the suite uses, a Redis of its own, a free port. It serves /healthz, sells a
voucher through the API, and stops cleanly when its process group is told to."""

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
import uuid

import psycopg
import pytest
from django.conf import settings

from tests.drills.harness import ROOT, RedisServer, free_port, wait_until

pytestmark = pytest.mark.slow


def _request(port: int, method: str, path: str, body: dict | None = None, token: str | None = None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Token {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return res.status, json.loads(res.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def fresh_database():
    db = settings.DATABASES["default"]
    name = f"pm_makerun_{uuid.uuid4().hex[:8]}"
    server = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or "postgres"}
    with psycopg.connect(dbname="postgres", autocommit=True, password=db.get("PASSWORD") or None, **server) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres://{server['user']}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, password=db.get("PASSWORD") or None, **server) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_make_run_in_real_mode_from_a_fresh_clone(tmp_path, fresh_database):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    (clone / ".venv").symlink_to((ROOT / ".venv").resolve())
    # The shared virtualenv is installed already: requirements older than its stamp, so make's
    # install step has nothing to do (a clone's files are all newer than anything before it).
    stamp = (ROOT / ".venv" / ".installed").stat().st_mtime
    for req in ("requirements.txt", "requirements-dev.txt"):
        os.utime(clone / req, (stamp - 60, stamp - 60))
    redis_server = RedisServer("makerun-redis")
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "CELERY_TASK_ALWAYS_EAGER", "DATA_DIR", "PYTEST_CURRENT_TEST")
    }
    env.update(DATABASE_URL=fresh_database, REDIS_URL=redis_server.url, PORT=str(port))
    log = open(tmp_path / "make-run.log", "wb")
    proc = subprocess.Popen(
        ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )

    def output() -> str:
        return (tmp_path / "make-run.log").read_text(errors="replace")[-4000:]

    try:

        def healthy():
            assert proc.poll() is None, f"make run exited with {proc.returncode}:\n{output()}"
            return _request(port, "GET", "/healthz")[0] == 200

        wait_until(healthy, timeout=240, what="make run serving /healthz", interval=0.5)
        status, body = _request(
            port, "POST", "/api/v1/auth/token", {"username": "driver", "password": "driver-pass-2024"}
        )
        assert status == 200, body
        token = body["token"]
        status, body = _request(port, "GET", "/api/v1/vouchers?kind=normal", token=token)
        assert status == 200, body
        on_sale = [v for v in body if v.get("stock") is None or v["stock"] > 0]
        assert on_sale, body
        status, body = _request(port, "POST", f"/api/v1/vouchers/{on_sale[0]['id']}/purchase", {}, token=token)
        assert status == 201, body
        assert body["order"]["status"] == "pending_payment"
        # Beat and the worker run too (honcho stops everything when one of them dies).
        beat_alive = wait_until(
            lambda: "beat: Starting" in output() or "Scheduler: Sending" in output(), timeout=60, what="beat running"
        )
        assert beat_alive and proc.poll() is None, output()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
        log.close()
        redis_server.destroy()
    assert code is not None, f"make run did not stop within 60 s of SIGTERM:\n{output()}"
    assert "FileNotFoundError" not in output() and "Traceback" not in output(), output()
