"""CPU per request of the purchase path's requests, through the WSGI app (not a test, no timing
decides anything): where a request's time goes when the machine is too busy for `make bench`.

    .venv/bin/python tests/perf/profile_paths.py            # table of CPU ms per request
    .venv/bin/python tests/perf/profile_paths.py --profile  # plus cProfile's top functions per path

Creates a database of its own (PROFILE_DATABASE, default parkmarket_profile, dropped and created
again) on PostgreSQL at 127.0.0.1:5432 and starts a private redis-server on a free port; runs
with the production settings. Each request is a customer the process has not seen (as in
`make bench`); customers are made with `customers_create_bulk`, so their tokens are in the shared
token lookup as after `create_customers`, except for the row that clears the lookup first.

Paths: the wallet read (GET /api/v1/wallet, the baseline), a Redis-gated purchase (202), the same
with the token not in the lookup, a sold-out answer on both gates (409), a database-gated purchase
(201), and the intake writing the accepted orders in batches (CPU per order, this process only:
PostgreSQL's own work is not in it). `process_time` counts every thread of the process, so the
dispatcher's hand-off to the broker is in the purchase's figure, as it is in a web worker's.

Environment: PROFILE_REQUESTS (default 2000 per path), PROFILE_DATABASE."""

import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("PROFILE_REQUESTS", "2000"))
DB_NAME = os.environ.get("PROFILE_DATABASE", "parkmarket_profile")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="profile-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.workdir = workdir
    return proc, f"redis://127.0.0.1:{port}/0"


def _setup(redis_url: str) -> None:
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": "profile-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "PAYMENT_WEBHOOK_SECRET": "profile-webhook-secret",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "ERROR",
        "SECKILL_GATE": "redis",
    }
    os.environ.update(env)
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", DB_NAME], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)
    import django

    django.setup()


def _customers(prefix: str, n: int) -> list[str]:
    from django.db import transaction

    from accounts.services import customers_create_bulk
    from wallet.services import wallets_open_bulk

    with transaction.atomic():
        made = customers_create_bulk(usernames=[f"{prefix}{i:06d}" for i in range(n)], password="Profile-pass-2024")
        wallets_open_bulk(users=[u for u, _ in made], balance=0)
    return [key for _, key in made]


def _vouchers() -> dict[str, int]:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.services import operator_create
    from coupons.services import voucher_create

    op = operator_create(organization_name="Profile Parking", username="profile-op", password="Profile-op-pass-2024")
    now = timezone.now()

    def flash(title: str, stock: int) -> int:
        return voucher_create(
            organization=op.organization,
            data={
                "title": title,
                "kind": "seckill",
                "price": 100,
                "benefit_type": "minutes",
                "benefit_value": 60,
                "stock": stock,
                "begins_at": now - timedelta(minutes=1),
                "ends_at": now + timedelta(hours=3),
                "per_user_limit": 1,
                "low_stock_threshold": 0,
            },
        ).pk

    return {name: flash(f"Profile {name}", stock) for name, stock in (("redis", 10**6), ("db", 10**6), ("sold", 0))}


def _run(client, method: str, path: str, keys: list[str], expect: int, profiler=None) -> dict:
    statuses: dict[int, int] = {}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for key in keys:
        res = getattr(client, method)(path, HTTP_AUTHORIZATION=f"Token {key}", content_type="application/json")
        statuses[res.status_code] = statuses.get(res.status_code, 0) + 1
    if profiler is not None:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    assert set(statuses) == {expect}, statuses
    return {"n": len(keys), "cpu_ms": 1000 * cpu / len(keys), "wall_ms": 1000 * wall / len(keys), "statuses": statuses}


def main() -> int:
    profile = "--profile" in sys.argv
    redis_proc, redis_url = _redis()
    try:
        _setup(redis_url)
        return _measure(profile)
    finally:
        redis_proc.terminate()
        redis_proc.wait(10)
        shutil.rmtree(redis_proc.workdir, ignore_errors=True)


def _measure(profile: bool) -> int:
    from django.conf import settings
    from django.test import Client

    from accounts import tokens
    from seckill import dispatch, gate, intake

    vouchers = _vouchers()
    warm, wallet_keys, redis_keys, cold_keys, sold_keys, db_keys, dbsold_keys = (
        _customers(p, n)
        for p, n in (("warm", 50), ("wal", N), ("rbuy", N), ("rcold", N), ("rsold", N), ("dbuy", N), ("dsold", N))
    )
    client = Client()
    for key in warm[:25]:  # every path's code and connections warmed on customers not measured
        client.get("/api/v1/wallet", HTTP_AUTHORIZATION=f"Token {key}")
        client.post(f"/api/v1/vouchers/{vouchers['redis']}/purchase", HTTP_AUTHORIZATION=f"Token {key}")
        client.post(f"/api/v1/vouchers/{vouchers['sold']}/purchase", HTTP_AUTHORIZATION=f"Token {key}")
    settings.SECKILL_GATE = "db"
    for key in warm[25:]:
        client.post(f"/api/v1/vouchers/{vouchers['db']}/purchase", HTTP_AUTHORIZATION=f"Token {key}")
    settings.SECKILL_GATE = "redis"
    r = gate.client()
    r.delete(*[tokens.entry_key(k) for k in cold_keys])

    rows: list[tuple[str, dict, pstats.Stats | None]] = []

    def measure(name, method, path, keys, expect):
        profiler = cProfile.Profile() if profile else None
        result = _run(client, method, path, keys, expect, profiler)
        stats = None
        if profiler is not None:
            stats = pstats.Stats(profiler, stream=io.StringIO())
        rows.append((name, result, stats))

    purchase = "/api/v1/vouchers/{}/purchase".format
    measure("wallet read (GET /wallet)", "get", "/api/v1/wallet", wallet_keys, 200)
    measure("redis purchase (202)", "post", purchase(vouchers["redis"]), redis_keys, 202)
    measure("redis purchase, token not in lookup", "post", purchase(vouchers["redis"]), cold_keys, 202)
    measure("sold out, redis gate (409)", "post", purchase(vouchers["sold"]), sold_keys, 409)
    assert dispatch.flush(timeout=30)
    settings.SECKILL_GATE = "db"
    measure("db purchase (201)", "post", purchase(vouchers["db"]), db_keys, 201)
    measure("sold out, db gate (409)", "post", purchase(vouchers["sold"]), dbsold_keys, 409)
    settings.SECKILL_GATE = "redis"

    pending = [
        {"order_id": oid, "voucher_id": vouchers["redis"], "user_id": uid, "accepted_ms": ms}
        for oid, (uid, ms) in gate.pending_entries(vouchers["redis"]).items()
    ]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    written = sum(intake.intake_write_batch(pending[i : i + 200]) for i in range(0, len(pending), 200))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0

    print(f"\nCPU per request through the WSGI app ({N} requests per path, each a new customer)\n")
    base = rows[0][1]["cpu_ms"]
    print(f"{'path':<40}{'cpu ms':>8}{'wall ms':>9}{'wallet cpu / this':>19}")
    for name, result, _ in rows:
        print(f"{name:<40}{result['cpu_ms']:>8.2f}{result['wall_ms']:>9.2f}{base / result['cpu_ms']:>19.2f}")
    print(
        f"{'intake, batches of 200 (per order)':<40}{1000 * cpu / max(written, 1):>8.3f}"
        f"{1000 * wall / max(written, 1):>9.3f}   ({written} orders written)"
    )
    if profile:
        for name, _result, stats in rows:
            out = io.StringIO()
            stats.stream = out
            stats.sort_stats("cumulative").print_stats(30)
            print(f"\n--- {name}: top functions by cumulative time ---")
            print("\n".join(out.getvalue().splitlines()[6:]))
            out.seek(0)
            out.truncate()
            stats.sort_stats("tottime").print_stats(15)
            print(f"--- {name}: top functions by own time ---")
            print("\n".join(out.getvalue().splitlines()[6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
