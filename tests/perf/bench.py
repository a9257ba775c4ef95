"""The purchase-path benchmark (`make bench`, real mode: PostgreSQL + Redis).

Starts gunicorn with the production settings and drives it with a bundled asyncio load generator
(raw HTTP/1.1 keep-alive sockets, no extra dependency) at 64 concurrent clients:

  noop      GET /api/v1/auth/me: authenticated, does nothing else (the ceiling)
  redis     POST purchase of a flash sale through the Redis gate (202); every request a new customer;
            the intake worker is stopped meanwhile and drains the orders afterwards (timed apart)
  redis_live  the same with the intake worker writing the orders at the same time (end to end)
  db        POST purchase through the database gate (201), gunicorn restarted with SECKILL_GATE=db
  soldout   POST purchase of a sold-out flash sale (409 sold_out), customers retrying
  pgbench   PostgreSQL alone doing the same conditional UPDATE + INSERT (the database's ceiling)

Prints requests/s, p50 and p99 per run, the ratios the issue sets as targets, and an audit after
each run (orders == units sold, no customer twice, gate == database). Figures go to
test-output/bench.json. Benchmarks never pass or fail on a timing; the audit failing exits 1.

Environment: BENCH_DATABASE (default parkmarket_bench, dropped and re-created), BENCH_REDIS_URL
(default: a private redis-server started on a free port for the run and stopped after; a given
URL is flushed), BENCH_SECONDS (8), BENCH_CLIENTS (64), BENCH_WORKERS / BENCH_THREADS (gunicorn,
default 2 x 4 as the Procfile), BENCH_PORT (8765), BENCH_BUYERS (12000).
"""

import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
PG_HOST = os.environ.get("BENCH_PG_HOST", "127.0.0.1")
PG_USER = os.environ.get("BENCH_PG_USER", "postgres")
DB_NAME = os.environ.get("BENCH_DATABASE", "parkmarket_bench")
DATABASE_URL = f"postgres://{PG_USER}@{PG_HOST}:5432/{DB_NAME}"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# A private Redis for the run (other sessions flush their own database numbers on the shared
# server); BENCH_REDIS_URL points the run at an existing one instead.
OWN_REDIS_PORT = None if os.environ.get("BENCH_REDIS_URL") else _free_port()
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"
SECONDS = float(os.environ.get("BENCH_SECONDS", "9"))  # per kind of run, split in ROUNDS slices
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "64"))
WORKERS = os.environ.get("BENCH_WORKERS", "2")
THREADS = os.environ.get("BENCH_THREADS", "4")
PORT = int(os.environ.get("BENCH_PORT", "8765"))
OUT = (
    ROOT
    / "test-output"
    / ("bench.json" if os.environ.get("BENCH_REDIS_APPENDFSYNC", "no") == "no" else "bench-aof.json")
)

BASE_ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "config.settings.production",
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PAYMENT_WEBHOOK_SECRET": "bench-webhook-secret",
    "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS ends at the proxy in production
    "LOG_LEVEL": "ERROR",  # 409s are logged as WARNING by django.request: not what we measure
    "SECKILL_GATE": "redis",
    "PYTHONUNBUFFERED": "1",
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env or BASE_ENV, cwd=ROOT, check=True, text=True, capture_output=True, **kw)


# --- set-up -----------------------------------------------------------------------------------------


def fresh_database() -> None:
    run(["dropdb", "-h", PG_HOST, "-U", PG_USER, "--if-exists", "--force", DB_NAME])
    run(["createdb", "-h", PG_HOST, "-U", PG_USER, DB_NAME])
    run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"])
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def customers(prefix: str, count: int) -> list[str]:
    out = run(
        [
            str(VENV_BIN / "python"),
            "manage.py",
            "create_customers",
            "--count",
            str(count),
            "--prefix",
            prefix,
            "--password",
            "Bench-pass-2024",
        ]
    ).stdout
    return [line.split()[1] for line in out.splitlines() if line.strip()]


def django_setup() -> None:
    os.environ.update(BASE_ENV)
    import django

    django.setup()


def make_vouchers() -> dict[str, int]:
    from datetime import timedelta

    from django.utils import timezone

    from accounts.services import operator_create
    from coupons.services import voucher_create

    op = operator_create(organization_name="Bench Parking", username="bench-op", password="Bench-op-pass-2024")
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

    return {
        "redis": flash("Bench Redis gate", 1_000_000),
        "db": flash("Bench database gate", 1_000_000),
        "soldout": flash("Bench sold out", 0),
        "pgbench": flash("Bench pgbench", 10_000_000),
        "org": op.organization_id,
    }


# --- servers ----------------------------------------------------------------------------------------


class Server:
    def __init__(self, **env):
        self.env = {**BASE_ENV, **env}
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                WORKERS,
                "--threads",
                THREADS,
                "--graceful-timeout",
                "5",
                "--keep-alive",
                "30",
                "--backlog",
                "2048",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(ROOT / "test-output" / "bench-gunicorn.log", "a"),
            start_new_session=True,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                asyncio.run(_one_request("GET", "/healthz", None))
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start; see test-output/bench-gunicorn.log")

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Worker:
    """A Celery worker (the intake), started after the admission run so the run measures the gate."""

    def __enter__(self):
        self.proc = subprocess.Popen(
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel",
                "WARNING",
                "--concurrency",
                os.environ.get("BENCH_CELERY_CONCURRENCY", "4"),
                "--without-gossip",
                "--without-mingle",
                "--prefetch-multiplier",
                "16",
            ],
            env=BASE_ENV,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(ROOT / "test-output" / "bench-celery.log", "a"),
            start_new_session=True,
        )
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# --- the load generator -----------------------------------------------------------------------------


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close, chunked = 0, False, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and b"close" in value.lower():
            close = True
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(length) if length else b""
    return status, body, close


def _request_bytes(method: str, path: str, token: str | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{PORT}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Token {token}")
    if method == "POST":
        lines += ["Content-Type: application/json", "Content-Length: 2"]
        return ("\r\n".join(lines) + "\r\n\r\n{}").encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _one_request(method: str, path: str, token: str | None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    try:
        writer.write(_request_bytes(method, path, token))
        await writer.drain()
        status, body, _ = await _read_response(reader)
        return status, body
    finally:
        writer.close()


class Tokens:
    """Customers' tokens handed out in order. cycle=False: each is used once, across runs (a
    purchase per customer); a run ends early when they run out."""

    def __init__(self, items: list[str], *, cycle: bool):
        self.items, self.cycle, self.pos = items, cycle, 0

    def next(self) -> str | None:
        if self.pos >= len(self.items):
            if not self.cycle:
                return None
            self.pos = 0
        self.pos += 1
        return self.items[self.pos - 1]


async def _load(method: str, path: str, tokens: Tokens, *, seconds: float) -> dict:
    """CLIENTS keep-alive connections; each sends the next request as soon as the last answered."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    next_token = tokens.next

    async def client():
        reader = writer = None
        while time.perf_counter() < deadline:
            token = next_token()
            if token is None:
                break
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
            start = time.perf_counter()
            writer.write(_request_bytes(method, path, token))
            try:
                status, body, close = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                statuses["conn_error"] = statuses.get("conn_error", 0) + 1
                writer.close()
                writer = None
                continue
            latencies.append(time.perf_counter() - start)
            key = str(status)
            if status == 409:
                m = re.search(rb'"code":\s*"(\w+)"', body)
                key = f"409 {m.group(1).decode() if m else '?'}"
            statuses[key] = statuses.get(key, 0) + 1
            if close:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "seconds": round(elapsed, 2),
        "rps": round(n / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(latencies[n // 2] * 1000, 2) if n else None,
        "p99_ms": round(latencies[min(n - 1, int(n * 0.99))] * 1000, 2) if n else None,
        "statuses": statuses,
        "_latencies": [x * 1000 for x in latencies],
    }


def load(method: str, path: str, tokens, *, seconds: float = SECONDS, cycle: bool = True) -> dict:
    if not isinstance(tokens, Tokens):
        tokens = Tokens(tokens, cycle=cycle)
    result = asyncio.run(_load(method, path, tokens, seconds=seconds))
    log(f"  {result['requests']} requests, {result['rps']} req/s, p50 {result['p50_ms']} ms, {result['statuses']}")
    return result


# --- audits -----------------------------------------------------------------------------------------


def audit_voucher(voucher_id: int, expected_orders: int, *, gate_checked: bool) -> dict:
    from django.db import connections
    from django.db.models import Count

    from coupons.models import Voucher
    from orders.models import Order

    for c in connections.all():
        c.close()
    v = Voucher.objects.get(pk=voucher_id)
    live = Order.objects.filter(voucher_id=voucher_id, status__in=Order.LIVE)
    n_live = live.count()
    twice = live.values("user_id").annotate(n=Count("id")).filter(n__gt=1).count()
    failed = Order.objects.filter(voucher_id=voucher_id, status=Order.Status.FAILED).count()
    result = {
        "orders": n_live,
        "answers_accepted": expected_orders,
        "units_sold": v.initial_stock - v.stock,
        "customers_twice": twice,
        "failed_orders": failed,
    }
    ok = n_live == expected_orders == v.initial_stock - v.stock == v.sold_count and twice == 0 and failed == 0
    if gate_checked:
        from seckill import gate

        meta, stock = gate.peek(voucher_id)
        result["gate_stock"] = stock
        result["db_stock"] = v.stock
        result["gate_pending"] = gate.client().hlen(gate.keys(voucher_id).pending)
        ok = ok and stock == v.stock and result["gate_pending"] == 0
    result["ok"] = ok
    return result


def wait_for_intake(voucher_id: int, expected: int, timeout: float = 180) -> float:
    from django.db import connections

    from orders.models import Order
    from seckill import gate

    start = time.time()
    while time.time() - start < timeout:
        for c in connections.all():
            c.close()
        if Order.objects.filter(voucher_id=voucher_id).count() >= expected:
            done = time.time() - start
            while gate.client().hlen(gate.keys(voucher_id).pending) and time.time() - start < timeout:
                time.sleep(0.1)  # the intake tidies the gate right after its commit
            return done
        time.sleep(0.25)
    raise RuntimeError(f"intake did not finish in {timeout}s")


# --- pgbench ----------------------------------------------------------------------------------------

PGBENCH_SCRIPT = """\\set uid random(:umin, :umax)
BEGIN;
UPDATE coupons_voucher SET stock = stock - 1, sold_count = sold_count + 1 WHERE id = :vid AND stock > 0;
INSERT INTO orders_order (id, user_id, voucher_id, organization_id, status, amount, single_slot, accepted_by,
  created_at, updated_at, expires_at, stock_released, failure_code, failure_reason)
  VALUES (gen_random_uuid(), :uid, :vid, :org, 'pending_payment', 100, false, 'pgbench', now(), now(),
  now() + interval '15 minutes', false, '', '');
END;
"""


def pgbench(voucher_id: int, org_id: int, *, seconds: float) -> dict:
    from django.contrib.auth import get_user_model

    ids = get_user_model().objects.order_by("id").values_list("id", flat=True)
    umin, umax = ids.first(), ids.last()
    tmp = Path(tempfile.mkdtemp(prefix="pgbench-"))
    script = tmp / "purchase.sql"
    script.write_text(PGBENCH_SCRIPT)
    cmd = [
        "pgbench",
        "-h",
        PG_HOST,
        "-U",
        PG_USER,
        "-n",
        "-c",
        str(CLIENTS),
        "-j",
        "2",
        "-T",
        str(max(1, round(seconds))),
        "-f",
        str(script),
        "-D",
        f"vid={voucher_id}",
        "-D",
        f"org={org_id}",
        "-D",
        f"umin={umin}",
        "-D",
        f"umax={umax}",
        "-l",
        "--log-prefix",
        str(tmp / "log"),
        DB_NAME,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    lat = []
    for f in tmp.glob("log*"):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]) / 1000)
    shutil.rmtree(tmp, ignore_errors=True)
    lat.sort()
    n = len(lat)
    return {
        "requests": n,
        "seconds": max(1, round(seconds)),
        "rps": round(tps, 1),
        "p50_ms": round(lat[n // 2], 2) if n else None,
        "p99_ms": round(lat[min(n - 1, int(n * 0.99))], 2) if n else None,
        "statuses": {"committed": n},
        "_latencies": lat,
    }


# --- main -------------------------------------------------------------------------------------------


# The private Redis's durability: "no" (no AOF), "everysec" or "always" (AOF fsynced before each
# reply: the zero-loss configuration; README, "Fault drills"). Compare runs to see what it costs.
APPENDFSYNC = os.environ.get("BENCH_REDIS_APPENDFSYNC", "no")


def own_redis():
    """Start the run's private redis-server, or nothing when BENCH_REDIS_URL is set."""
    if OWN_REDIS_PORT is None:
        return None
    aof = ["--appendonly", "no"] if APPENDFSYNC == "no" else ["--appendonly", "yes", "--appendfsync", APPENDFSYNC]
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(OWN_REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--dir", workdir, *aof],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
    )
    import redis

    for _ in range(100):
        try:
            redis.Redis.from_url(REDIS_URL).ping()
            return proc
        except redis.RedisError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the benchmark's redis-server did not start")


def main() -> int:
    (ROOT / "test-output").mkdir(exist_ok=True)
    redis_proc = own_redis()
    try:
        return _main()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)


def _main() -> int:
    t0 = time.time()
    log(f"fresh database {DB_NAME}, Redis {REDIS_URL} (appendfsync: {APPENDFSYNC})")
    fresh_database()
    django_setup()
    vouchers = make_vouchers()
    n_buyers = int(os.environ.get("BENCH_BUYERS", "12000"))
    log(f"creating customers ({n_buyers} Redis buyers, {n_buyers // 2} database buyers, 3000 retriers)")
    redis_buyers = customers("rb", n_buyers)
    db_buyers = customers("db", n_buyers // 2)
    retriers = customers("rt", 3000)
    results: dict[str, dict] = {}
    audits: dict[str, dict] = {}

    # The machine may be shared: each comparison alternates its two sides in short slices
    # (ROUNDS x SLICE seconds each) and the ratio is the median of the rounds' ratios.
    rounds, slice_s = ROUNDS, SECONDS / ROUNDS
    runs: dict[str, list[dict]] = {
        k: [] for k in ("noop", "redis", "redis_live", "soldout", "soldout_nocache", "db", "pgbench")
    }
    soldout_path = f"/api/v1/vouchers/{vouchers['soldout']}/purchase"
    redis_path = f"/api/v1/vouchers/{vouchers['redis']}/purchase"
    buyers_r = Tokens(redis_buyers, cycle=False)
    buyers_d = Tokens(db_buyers, cycle=False)
    with Server():
        log("warm-up; customers' first tries on the sold-out sale (each worker process learns the tokens)")
        load("GET", "/api/v1/auth/me", retriers, seconds=2)
        for _ in range(2):
            load("POST", soldout_path, retriers, seconds=5, cycle=False)
        for i in range(rounds):
            log(f"round {i + 1}/{rounds}: noop, redis (intake queued; worker started after), soldout")
            runs["noop"].append(load("GET", "/api/v1/auth/me", retriers, seconds=slice_s))
            runs["redis"].append(load("POST", redis_path, buyers_r, seconds=slice_s))
            runs["soldout"].append(load("POST", soldout_path, retriers, seconds=slice_s))
    accepted = sum(r["statuses"].get("202", 0) for r in runs["redis"])
    log(f"draining {accepted} accepted orders with a Celery worker")
    with Worker():
        drain = wait_for_intake(vouchers["redis"], accepted)

    # End to end: the same gate while the intake worker writes the orders on the same two cores.
    live_noop: list[dict] = []
    with Server(), Worker():
        load("GET", "/api/v1/auth/me", retriers, seconds=1)
        for i in range(rounds):
            log(f"round {i + 1}/{rounds}: noop, redis with the intake worker running alongside")
            live_noop.append(load("GET", "/api/v1/auth/me", retriers, seconds=slice_s))
            runs["redis_live"].append(load("POST", redis_path, buyers_r, seconds=slice_s))
        accepted += sum(r["statuses"].get("202", 0) for r in runs["redis_live"])
        wait_for_intake(vouchers["redis"], accepted)
    audits["redis"] = audit_voucher(vouchers["redis"], accepted, gate_checked=True)

    nocache_noop: list[dict] = []
    with Server(SECKILL_AUTH_CACHE_SECONDS="0"):
        load("GET", "/api/v1/auth/me", retriers, seconds=1)
        for i in range(rounds):
            log(f"round {i + 1}/{rounds}: noop, soldout without the token memory (token read every time)")
            nocache_noop.append(load("GET", "/api/v1/auth/me", retriers, seconds=slice_s))
            runs["soldout_nocache"].append(load("POST", soldout_path, retriers, seconds=slice_s))
    audits["soldout"] = audit_voucher(vouchers["soldout"], 0, gate_checked=True)

    with Server(SECKILL_GATE="db"):
        load("GET", "/api/v1/auth/me", retriers, seconds=1)
        for i in range(rounds):
            log(f"round {i + 1}/{rounds}: db gate through gunicorn, then pgbench (same UPDATE + INSERT)")
            runs["db"].append(load("POST", f"/api/v1/vouchers/{vouchers['db']}/purchase", buyers_d, seconds=slice_s))
            runs["pgbench"].append(pgbench(vouchers["pgbench"], vouchers["org"], seconds=slice_s))
    written = sum(r["statuses"].get("201", 0) for r in runs["db"])
    audits["db"] = audit_voucher(vouchers["db"], written, gate_checked=False)

    def merged(parts: list[dict]) -> dict:
        lat = sorted(x for p in parts for x in p.pop("_latencies", []))
        n = sum(p["requests"] for p in parts)
        secs = sum(p["seconds"] for p in parts)
        statuses: dict[str, int] = {}
        for p in parts:
            for k, v in p["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
        return {
            "requests": n,
            "seconds": round(secs, 2),
            "rps": round(n / secs, 1) if secs else 0.0,
            "p50_ms": round(lat[len(lat) // 2], 2) if lat else None,
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 2) if lat else None,
            "statuses": statuses,
            "rounds_rps": [p["rps"] for p in parts],
        }

    def ratio(a: list[dict], b: list[dict]) -> float:
        return round(statistics.median(x["rps"] / y["rps"] for x, y in zip(a, b, strict=True) if y["rps"]), 2)

    ratios = {
        "redis_vs_noop": ratio(runs["redis"], runs["noop"]),
        "redis_live_vs_noop": ratio(runs["redis_live"], live_noop),
        "db_vs_pgbench": ratio(runs["db"], runs["pgbench"]),
        "soldout_vs_noop": ratio(runs["soldout"], runs["noop"]),
        "soldout_nocache_vs_noop": ratio(runs["soldout_nocache"], nocache_noop),
    }
    results = {name: merged(parts) for name, parts in runs.items()}
    results["redis"]["intake_drain_seconds"] = round(drain, 2)
    drained = sum(r["statuses"].get("202", 0) for r in runs["redis"])
    results["redis"]["intake_orders_per_second"] = round(drained / drain, 1) if drain else None

    from coupons.models import Voucher
    from orders.models import Order

    pv = Voucher.objects.get(pk=vouchers["pgbench"])
    pg_orders = Order.objects.filter(voucher_id=pv.pk).count()
    audits["pgbench"] = {
        "orders": pg_orders,
        "units_sold": pv.initial_stock - pv.stock,
        "ok": pg_orders == pv.initial_stock - pv.stock,
    }

    targets = {
        "redis_vs_noop": 0.7,
        "redis_live_vs_noop": 0.7,
        "db_vs_pgbench": 0.5,
        "soldout_vs_noop": 0.9,
        "soldout_nocache_vs_noop": 0.9,
    }
    oversell = any(not a["ok"] for a in audits.values())

    print()
    print(f"{'run':<16}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}  answers")
    for name in ("noop", "redis", "redis_live", "db", "soldout", "soldout_nocache", "pgbench"):
        r = results[name]
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
        print(f"{name:<16}{r['requests']:>10}{r['rps']:>10}{r['p50_ms']:>10}{r['p99_ms']:>10}  {answers}")
    print()
    for name, value in ratios.items():
        print(f"{name:<24}{value:>6}  (target >= {targets[name]})")
    print(f"ratios: median over {rounds} rounds of alternating {slice_s:.1f}-second slices")
    print(f"load average at the end: {os.getloadavg()} on {os.cpu_count()} CPUs (other work on the machine counts)")
    print(
        f"intake drain: {results['redis']['intake_drain_seconds']} s for {drained} orders "
        f"({results['redis']['intake_orders_per_second']} orders/s)"
    )
    print()
    for name, a in audits.items():
        print(f"audit {name:<8} {'OK ' if a['ok'] else 'FAIL'} {json.dumps(a)}")
    OUT.write_text(
        json.dumps(
            {
                "clients": CLIENTS,
                "redis_appendfsync": APPENDFSYNC,
                "seconds_per_run": SECONDS,
                "gunicorn": {"workers": int(WORKERS), "threads": int(THREADS)},
                "cpus": os.cpu_count(),
                "results": results,
                "ratios": ratios,
                "targets": targets,
                "audits": audits,
                "p_stats": "latency percentiles over every request of the run",
                "rounds": rounds,
                "loadavg_end": os.getloadavg(),
                "took_seconds": round(time.time() - t0, 1),
            },
            indent=2,
        )
    )
    log(f"figures written to {OUT.relative_to(ROOT)} (took {time.time() - t0:.0f} s)")
    return 1 if oversell else 0


if __name__ == "__main__":
    sys.exit(main())
