"""The purchase-path benchmark (`make bench`, real mode: PostgreSQL + Redis).

Creates a fresh database and a private redis-server, 40,000 customers (`create_customers`), and
starts the Procfile's processes (gunicorn with config/gunicorn.py, the Celery worker, beat) with the
production settings. A bundled asyncio load generator (raw HTTP/1.1 keep-alive sockets, no extra
dependency) drives gunicorn at 64 concurrent clients. Every request comes from the next customer of
one rotation shared by all runs, so a customer comes back only after the whole crowd has passed: no
process has seen them before (cold customers, as in a real flash sale). Their tokens were issued by
`create_customers`, which writes them into the shared token lookup in Redis as every issue does;
`redis_uncached` removes those entries before each of its slices, for customers whose tokens were
issued long before the sale.

Runs (each phase alternates its runs in short slices, several rounds; a ratio is the median of the
rounds' ratios, so the noise of a shared machine cancels out within a run):

  phase "gate"  gunicorn, Redis gate, intake stopped:
    wallet      GET /api/v1/wallet: token + one row read (the reference every run is compared to)
    noop        GET /api/v1/auth/me: authenticated, nothing else
    redis       POST purchase through the Redis gate (202), intake stopped (drained after, timed apart)
    redis_uncached  the same, the tokens not in the shared lookup (each read from the database once)
    soldout     POST purchase of a sold-out flash sale (409 sold_out) on the Redis gate
  phase "live"  web + intake worker + beat, as `make run` starts them (the Procfile):
    wallet_live, noop_live (after the intake caught up), redis_live (the intake writing alongside)
  phase "db"    gunicorn restarted with SECKILL_GATE=db:
    wallet_db, noop_db, db (201), soldout_db (409 sold_out), pgbench (PostgreSQL alone doing the
    same conditional UPDATE + INSERT)
  stampede      web + worker + beat: 100,000 requests (two purchases of one flash sale to a wallet
                read, the sale selling out on the way), resident memory of every gunicorn and Celery
                process before, every 20,000 requests, and after the intake drained.

CPU per request: the gunicorn workers' utime + stime (/proc/<pid>/stat) over a slice, divided by the
requests it answered. Memory: VmRSS from /proc/<pid>/status.

After each purchase run an audit checks orders = units sold, no customer twice, nothing pending and
the gate's stock = the database's; a failed audit exits 1. Timings never fail the run. Figures go to
test-output/bench.json (bench-quick.json with BENCH_QUICK=1, bench-aof.json with an AOF).

Environment: BENCH_QUICK=1 (a smoke run of the harness, ~1-2 min: fewer customers, 1-second
slices, a 12,000-request stampede), BENCH_DATABASE (parkmarket_bench, dropped and re-created),
BENCH_REDIS_URL (default: a private redis-server on a free port; a given URL is flushed),
BENCH_REDIS_APPENDFSYNC (no | everysec | always), BENCH_CUSTOMERS (40000), BENCH_SLICE_SECONDS (3),
BENCH_ROUNDS (3), BENCH_CLIENTS (64), BENCH_WORKERS / BENCH_THREADS (gunicorn, 2 x 4 as the
Procfile), BENCH_CELERY_CONCURRENCY (2, as the Procfile), BENCH_STAMPEDE (100000),
BENCH_STAMPEDE_STEP (20000), BENCH_STAMPEDE_STOCK (20000), BENCH_PORT (a free port).
"""

import asyncio
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
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


def _int_env(name: str, full: int, quick: int) -> int:
    return int(os.environ.get(name) or (quick if QUICK else full))


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
# A private Redis for the run (other sessions flush their own database numbers on the shared
# server); BENCH_REDIS_URL points the run at an existing one instead.
OWN_REDIS_PORT = None if os.environ.get("BENCH_REDIS_URL") else _free_port()
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"
APPENDFSYNC = os.environ.get("BENCH_REDIS_APPENDFSYNC", "no")
CUSTOMERS = _int_env("BENCH_CUSTOMERS", 40_000, 3_000)
SLICE = float(os.environ.get("BENCH_SLICE_SECONDS") or (1.0 if QUICK else 3.0))
ROUNDS = _int_env("BENCH_ROUNDS", 3, 2)
CLIENTS = _int_env("BENCH_CLIENTS", 64, 64)
WORKERS = os.environ.get("BENCH_WORKERS", "2")
THREADS = os.environ.get("BENCH_THREADS", "4")
CELERY_CONCURRENCY = os.environ.get("BENCH_CELERY_CONCURRENCY", "2")
STAMPEDE = _int_env("BENCH_STAMPEDE", 100_000, 12_000)
STAMPEDE_STEP = _int_env("BENCH_STAMPEDE_STEP", 20_000, 3_000)
STAMPEDE_STOCK = _int_env("BENCH_STAMPEDE_STOCK", 20_000, 2_000)
PORT = int(os.environ.get("BENCH_PORT") or _free_port())
TOKEN_MEMORY_SECONDS = int(os.environ.get("SECKILL_AUTH_CACHE_SECONDS") or 900)  # the shared token lookup's lifetime
OUT = (
    ROOT / "test-output" / ("bench-quick.json" if QUICK else "bench.json" if APPENDFSYNC == "no" else "bench-aof.json")
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
    # the Procfile's processes, sized as `make run` sizes them unless told otherwise
    "HOST": "127.0.0.1",
    "PORT": str(PORT),
    "WEB_WORKERS": WORKERS,
    "WEB_THREADS": THREADS,
    "CELERY_CONCURRENCY": CELERY_CONCURRENCY,
}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S', time.gmtime())} UTC] {msg}", flush=True)


def run(cmd: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, env=env or BASE_ENV, cwd=ROOT, text=True, capture_output=True, **kw)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {done.returncode}: {done.stderr.strip()[-1000:]}")
    return done


# --- set-up -----------------------------------------------------------------------------------------


def fresh_database() -> None:
    run(["dropdb", "-h", PG_HOST, "-U", PG_USER, "--if-exists", "--force", DB_NAME])
    run(["createdb", "-h", PG_HOST, "-U", PG_USER, DB_NAME])
    run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"])
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def create_customers(prefix: str, count: int) -> list[str]:
    """`count` customers with funded wallets, through the management command; their tokens."""
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
            "--balance",
            "10000",
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

    from accounts.models import Organization
    from coupons.services import voucher_create

    out = run(
        [
            str(VENV_BIN / "python"),
            "manage.py",
            "create_operator",
            "--organization",
            "Bench Parking",
            "--username",
            "bench-op",
            "--password",
            "Bench-op-pass-2024",
        ]
    ).stdout
    organization = Organization.objects.get(pk=int(re.search(r"\(id (\d+)\)", out).group(1)))
    now = timezone.now()

    def flash(title: str, stock: int) -> int:
        return voucher_create(
            organization=organization,
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
                "payment_window_seconds": 7 * 24 * 3600,  # nothing expires during the run (beat runs)
            },
        ).pk

    big = 1_000_000
    return {
        "redis": flash("Bench Redis gate, intake stopped", big),
        "redis_uncached": flash("Bench Redis gate, tokens not in the shared lookup", big),
        "redis_live": flash("Bench Redis gate, intake alongside", big),
        "soldout": flash("Bench sold out, Redis gate", 0),
        "db": flash("Bench database gate", big),
        "soldout_db": flash("Bench sold out, database gate", 0),
        "stampede": flash("Bench stampede", STAMPEDE_STOCK),
        "pgbench": flash("Bench pgbench", 10 * big),
        "org": organization.pk,
    }


# --- processes: the Procfile's, and what /proc says about them ---------------------------------------


CLK_TCK = os.sysconf("SC_CLK_TCK")


def procfile_commands(text: str) -> dict[str, str]:
    """`name: command` lines of a Procfile."""
    out = {}
    for line in text.splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not name.lstrip().startswith("#"):
            out[name.strip()] = command.strip()
    return out


def parse_rss_kb(status: str) -> int | None:
    """VmRSS (kB) from the text of /proc/<pid>/status."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def parse_stat(stat: str) -> tuple[int, int]:
    """(parent pid, utime + stime in clock ticks) from the text of /proc/<pid>/stat. The command
    name (field 2) may hold spaces and parentheses: the fields after it start after the last ')'."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): ppid is field 4, utime and stime are fields 14 and 15
    return int(fields[1]), int(fields[11]) + int(fields[12])


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _read(f"/proc/{entry}/stat")
            if stat and parse_stat(stat)[0] == pid:
                out.append(int(entry))
    return sorted(out)


def cpu_seconds(pid: int) -> float | None:
    stat = _read(f"/proc/{pid}/stat")
    return parse_stat(stat)[1] / CLK_TCK if stat else None


def rss_kb(pid: int) -> int | None:
    status = _read(f"/proc/{pid}/status")
    return parse_rss_kb(status) if status else None


class Stack:
    """Some of the Procfile's processes (web, worker, beat), started as `make run` starts them:
    the same command lines, the same environment variables, a fresh PROMETHEUS_MULTIPROC_DIR."""

    def __init__(self, *names: str, **env: str):
        self.names = names
        self.env = {**BASE_ENV, **env}
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self):
        commands = procfile_commands((ROOT / "Procfile").read_text())
        metrics = tempfile.mkdtemp(prefix="bench-prometheus-")
        self.env["PROMETHEUS_MULTIPROC_DIR"] = metrics
        self._tmp = metrics
        for name in self.names:
            # bash expands ${CELERY_CONCURRENCY:-2} as honcho does; exec keeps the pid the process's
            self.procs[name] = subprocess.Popen(
                ["bash", "-c", f"exec {commands[name]}"],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=open(ROOT / "test-output" / f"bench-{name}.log", "a"),
                start_new_session=True,
            )
        if "web" in self.procs:
            deadline = time.time() + 40
            while True:
                try:
                    asyncio.run(_one_request("GET", "/healthz", None))
                    break
                except OSError:
                    if time.time() > deadline or self.procs["web"].poll() is not None:
                        self.__exit__()
                        raise RuntimeError("gunicorn did not start; see test-output/bench-web.log") from None
                    time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def processes(self) -> list[tuple[str, int]]:
        """(role, pid) of every process that serves: gunicorn's workers (not the master, which only
        supervises), the Celery worker's main process and its pool, beat."""
        out = []
        if "web" in self.procs:
            out += [("gunicorn worker", pid) for pid in children(self.procs["web"].pid)]
        if "worker" in self.procs:
            main = self.procs["worker"].pid
            out.append(("celery worker main", main))
            out += [("celery worker pool", pid) for pid in children(main)]
        if "beat" in self.procs:
            out.append(("celery beat", self.procs["beat"].pid))
        return out

    def cpu(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far, by kind ("web", "celery") and pid."""
        out: dict[str, dict[int, float]] = {"web": {}, "celery": {}}
        for role, pid in self.processes():
            seconds = cpu_seconds(pid)
            if seconds is not None:
                out["web" if role.startswith("gunicorn") else "celery"][pid] = seconds
        return out

    def memory(self) -> list[dict]:
        return [{"role": role, "pid": pid, "rss_kb": rss_kb(pid)} for role, pid in self.processes()]


def parse_proc_stat(text: str) -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs from the text of /proc/stat (idle and iowait are idle)."""
    ticks = [int(x) for x in text.splitlines()[0].split()[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    total = sum(ticks[:8])  # guest time is counted in user already
    return total - idle, total


def machine_ticks() -> tuple[int, int]:
    return parse_proc_stat(_read("/proc/stat") or "cpu 0 0 0 0")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two samples; a process that appeared in between counts from zero."""
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


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


def request_bytes(method: str, path: str, token: str | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{PORT}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Token {token}")
    if method == "POST":
        lines += ["Content-Type: application/json", "Content-Length: 2"]
        return ("\r\n".join(lines) + "\r\n\r\n{}").encode()
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer_key(kind: str, status: int, body: bytes) -> str:
    """How an answer is counted: its status, a 409's error code, prefixed by the request's kind."""
    key = str(status)
    if status == 409:
        m = re.search(rb'"code":\s*"(\w+)"', body)
        key = f"409 {m.group(1).decode() if m else '?'}"
    return f"{kind} {key}" if kind else key


async def _one_request(method: str, path: str, token: str | None) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    try:
        writer.write(request_bytes(method, path, token))
        await writer.drain()
        status, body, _ = await _read_response(reader)
        return status, body
    finally:
        writer.close()


class Customers:
    """The cold customers: one rotation shared by every run, so that a customer comes back only
    after all the others. `picker(once_per=...)` skips the customers who already tried that sale (a
    purchase run asks each customer once); it also watches how soon a customer comes back."""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.pos = 0
        self.tried: dict[str, bytearray] = {}
        self.last_seen = [0.0] * len(tokens)
        self.min_gap = math.inf

    def picker(self, *, once_per: str | None = None) -> Callable[[], str | None]:
        n = len(self.tokens)
        tried = self.tried.setdefault(once_per, bytearray(n)) if once_per else None
        exhausted = False

        def next_token() -> str | None:
            nonlocal exhausted
            if exhausted:
                return None
            for _ in range(n):
                i = self.pos
                self.pos = (i + 1) % n
                if tried is not None:
                    if tried[i]:
                        continue
                    tried[i] = 1
                now = time.perf_counter()
                if self.last_seen[i]:
                    self.min_gap = min(self.min_gap, now - self.last_seen[i])
                self.last_seen[i] = now
                return self.tokens[i]
            exhausted = True
            return None

        return next_token

    def take_min_gap(self) -> float | None:
        """The shortest time a customer took to come back since the last call (None: none came back)."""
        gap, self.min_gap = self.min_gap, math.inf
        return None if gap == math.inf else round(gap, 2)


Source = Callable[[], tuple[str, bytes] | None]


def requests_of(method: str, path: str, next_token: Callable[[], str | None], kind: str = "") -> Source:
    def source():
        token = next_token()
        return None if token is None else (kind, request_bytes(method, path, token))

    return source


def percentile(sorted_values: list[float], q: float) -> float | None:
    n = len(sorted_values)
    return round(sorted_values[min(n - 1, int(n * q))], 2) if n else None


async def _load(source: Source, *, seconds: float | None, limit: int | None) -> dict:
    """CLIENTS keep-alive connections; each sends the next request as soon as the last answered,
    until `seconds` have passed or `limit` requests were sent."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + seconds if seconds else math.inf
    sent = 0

    async def client():
        nonlocal sent
        reader = writer = None
        while time.perf_counter() < deadline and (limit is None or sent < limit):
            item = source()
            if item is None:
                break
            kind, payload = item
            sent += 1
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
            start = time.perf_counter()
            writer.write(payload)
            try:
                status, body, close = await _read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                key = f"{kind} conn_error" if kind else "conn_error"
                statuses[key] = statuses.get(key, 0) + 1
                writer.close()
                writer = None
                continue
            latencies.append(time.perf_counter() - start)
            key = answer_key(kind, status, body)
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
        "p50_ms": percentile([x * 1000 for x in latencies], 0.5),
        "p99_ms": percentile([x * 1000 for x in latencies], 0.99),
        "statuses": statuses,
        "_latencies": [x * 1000 for x in latencies],
    }


def load(
    source: Source,
    *,
    stack: Stack | None = None,
    seconds: float | None = None,
    limit: int | None = None,
    customers: Customers | None = None,
    label: str = "",
) -> dict:
    """One slice of load; with `stack`, the CPU its gunicorn workers (and Celery processes) spent."""
    before = stack.cpu() if stack else None
    machine, own = machine_ticks(), own_cpu_seconds()
    result = asyncio.run(_load(source, seconds=seconds, limit=limit))
    busy, total = (a - b for a, b in zip(machine_ticks(), machine, strict=True))
    result["machine_busy_pct"] = round(100 * busy / total, 1) if total else None
    result["client_cpu_s"] = round(own_cpu_seconds() - own, 3)
    if stack:
        after = stack.cpu()
        result["web_cpu_s"] = round(cpu_used(before["web"], after["web"]), 3)
        result["celery_cpu_s"] = round(cpu_used(before["celery"], after["celery"]), 3)
    if customers:
        result["customer_back_after_s"] = customers.take_min_gap()
    cpu = f", web CPU {per_request_ms(result.get('web_cpu_s'), result['requests'])} ms/req" if stack else ""
    log(
        f"  {label:<12}{result['requests']:>7} requests, {result['rps']} req/s, p50 {result['p50_ms']} ms"
        f"{cpu}, {result['statuses']}"
    )
    return result


def per_request_ms(cpu_s: float | None, requests: int) -> float | None:
    return round(cpu_s * 1000 / requests, 2) if cpu_s is not None and requests else None


# --- figures ----------------------------------------------------------------------------------------


def merged(parts: list[dict]) -> dict:
    """One run's slices as one figure: requests/s over all of them, percentiles over every request,
    CPU per request over all of them, the answers summed, each slice's requests/s kept."""
    lat = sorted(x for p in parts for x in p.get("_latencies", []))
    n = sum(p["requests"] for p in parts)
    secs = sum(p["seconds"] for p in parts)
    statuses: dict[str, int] = {}
    for p in parts:
        for k, v in p["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    out = {
        "requests": n,
        "seconds": round(secs, 2),
        "rps": round(n / secs, 1) if secs else 0.0,
        "p50_ms": percentile(lat, 0.5),
        "p99_ms": percentile(lat, 0.99),
        "statuses": statuses,
        "rounds_rps": [p["rps"] for p in parts],
    }
    busy = [(p["machine_busy_pct"], p["seconds"]) for p in parts if p.get("machine_busy_pct") is not None]
    if busy:
        out["machine_busy_pct"] = round(sum(b * s for b, s in busy) / sum(s for _, s in busy), 1)
    for kind in ("web", "celery", "client"):
        if all(f"{kind}_cpu_s" in p for p in parts) and parts:
            cpu = sum(p[f"{kind}_cpu_s"] for p in parts)
            out[f"{kind}_cpu_s"] = round(cpu, 3)
            out[f"{kind}_cpu_ms_per_request"] = per_request_ms(cpu, n)
    gaps = [p["customer_back_after_s"] for p in parts if p.get("customer_back_after_s") is not None]
    if any("customer_back_after_s" in p for p in parts):
        out["customer_back_after_s"] = min(gaps) if gaps else None
    return out


def median_ratio(a: list[dict], b: list[dict]) -> float | None:
    """Median over the rounds of a's requests/s over b's in the same round."""
    values = [x["rps"] / y["rps"] for x, y in zip(a, b, strict=True) if y["rps"]]
    return round(statistics.median(values), 2) if values else None


# --- audits -----------------------------------------------------------------------------------------


def _close_connections() -> None:
    from django.db import connections

    for c in connections.all():
        c.close()


def audit_voucher(voucher_id: int, expected_orders: int, *, gate_checked: bool) -> dict:
    from django.db.models import Count

    from coupons.models import Voucher
    from orders.models import Order

    _close_connections()
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


def written_orders(voucher_id: int) -> int:
    from orders.models import Order

    _close_connections()
    return Order.objects.filter(voucher_id=voucher_id).exclude(status=Order.Status.PROCESSING).count()


def token_entries() -> dict[bytes, bytes]:
    """Every entry of the shared token lookup in the run's Redis (key -> value)."""
    import redis

    from accounts.tokens import entry_key

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=entry_key("*"), count=5000))
    return {
        k: v
        for i in range(0, len(keys), 5000)
        for k, v in zip(keys[i : i + 5000], client.mget(keys[i : i + 5000]), strict=True)
        if v
    }


def forget_tokens(entries: dict[bytes, bytes]) -> None:
    """Remove these entries from the shared token lookup."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(entries)
    for i in range(0, len(keys), 5000):
        client.unlink(*keys[i : i + 5000])


def restore_tokens(entries: dict[bytes, bytes]) -> None:
    """Put the entries back as they were issued, with the lookup's lifetime, so the other runs find
    their customers' tokens as before."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    with client.pipeline(transaction=False) as pipe:
        for key, value in entries.items():
            pipe.set(key, value, ex=TOKEN_MEMORY_SECONDS)
        pipe.execute()


def wait_for_intake(voucher_id: int, expected: int, timeout: float = 300) -> dict:
    """Wait until the intake wrote `expected` orders of the sale and tidied the gate. Returns the
    seconds it took and the seconds from the first order written (the drain rate, start-up aside)."""
    from seckill import gate

    start = time.time()
    first = None
    base = written_orders(voucher_id)
    while time.time() - start < timeout:
        n = written_orders(voucher_id)
        if first is None and n > base:
            first = time.time()
        if n >= expected:
            done = time.time()
            while gate.client().hlen(gate.keys(voucher_id).pending) and time.time() - start < timeout:
                time.sleep(0.1)  # the intake tidies the gate right after its commit
            return {"seconds": round(done - start, 2), "seconds_from_first": round(done - (first or done), 2)}
        time.sleep(0.1)
    raise RuntimeError(f"intake did not finish in {timeout}s (voucher {voucher_id}: {expected} expected)")


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

    _close_connections()
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
    machine, children_before = machine_ticks(), os.times()
    done = subprocess.run(cmd, capture_output=True, text=True)
    busy, total = (a - b for a, b in zip(machine_ticks(), machine, strict=True))
    children_after = os.times()
    pgbench_cpu = (children_after.children_user - children_before.children_user) + (
        children_after.children_system - children_before.children_system
    )
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"pgbench failed (the orders table changed?): {done.stderr.strip()[-500:]}")
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout).group(1))
    lat = []
    for f in tmp.glob("log*"):
        for line in f.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3:
                lat.append(int(parts[2]) / 1000)
    shutil.rmtree(tmp, ignore_errors=True)
    lat.sort()
    n = len(lat)
    log(f"  {'pgbench':<12}{n:>7} transactions, {tps:.1f}/s")
    return {
        "requests": n,
        "seconds": max(1, round(seconds)),
        "rps": round(tps, 1),
        "p50_ms": percentile(lat, 0.5),
        "p99_ms": percentile(lat, 0.99),
        "statuses": {"committed": n},
        "_latencies": lat,
        "machine_busy_pct": round(100 * busy / total, 1) if total else None,
        "client_cpu_s": round(pgbench_cpu, 3),  # pgbench's own CPU, the load generator's counterpart
    }


# --- the runs ---------------------------------------------------------------------------------------


def alternate(slices: dict[str, Callable[[], dict]], runs: dict[str, list[dict]], phase: str) -> None:
    """ROUNDS rounds of every slice in turn; every other round in reverse order, so that no run
    always comes right after the same one."""
    names = list(slices)
    for i in range(ROUNDS):
        order = names if i % 2 == 0 else names[::-1]
        log(f"{phase}: round {i + 1}/{ROUNDS} ({', '.join(order)})")
        for name in order:
            runs.setdefault(name, []).append(slices[name]())


def accepted(parts: list[dict], status: str) -> int:
    return sum(p["statuses"].get(status, 0) for p in parts)


def stampede(stack: Stack, crowd: Customers, voucher_id: int) -> dict:
    """STAMPEDE requests from the rotating crowd, two purchases of one sale to a wallet read (the
    sale sells out on the way; customers who tried come back and are refused), in steps of
    STAMPEDE_STEP; the resident memory of every process before, after each step and after the
    intake drained."""
    path = f"/api/v1/vouchers/{voucher_id}/purchase"
    next_token = crowd.picker()
    count = 0

    def source():
        nonlocal count
        token = next_token()
        count += 1
        if count % 3 == 0:
            return "wallet", request_bytes("GET", "/api/v1/wallet", token)
        return "purchase", request_bytes("POST", path, token)

    points: list[tuple[str, list[dict]]] = [("0", stack.memory())]
    steps: list[dict] = []
    done = 0
    while done < STAMPEDE:
        n = min(STAMPEDE_STEP, STAMPEDE - done)
        steps.append(load(source, stack=stack, limit=n, customers=crowd, label=f"{done + n:,}"))
        done += n
        points.append((f"{done // 1000}k" if done % 1000 == 0 else str(done), stack.memory()))
    taken = accepted(steps, "purchase 202")
    log(f"stampede: waiting for the intake to write {taken} orders")
    drain = wait_for_intake(voucher_id, taken)
    points.append(("drained", stack.memory()))
    result = merged(steps)
    result["accepted"] = taken
    result["intake_after_s"] = drain["seconds"]
    return {"result": result, "memory": memory_table(points), "steps": [merged([s]) for s in steps]}


def memory_table(points: list[tuple[str, list[dict]]]) -> dict:
    """Per process (role and pid), its RSS in kB at every point; a process that was not there: None."""
    labels = [label for label, _ in points]
    rows: dict[int, dict] = {}
    for i, (_label, sample) in enumerate(points):
        for p in sample:
            row = rows.setdefault(p["pid"], {"role": p["role"], "pid": p["pid"], "rss_kb": [None] * len(points)})
            row["rss_kb"][i] = p["rss_kb"]
    return {"points": labels, "processes": sorted(rows.values(), key=lambda r: (r["role"], r["pid"]))}


def main() -> int:
    (ROOT / "test-output").mkdir(exist_ok=True)
    redis_proc = own_redis()
    try:
        return _main()
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait(10)


def own_redis():
    """Start the run's private redis-server, or nothing when BENCH_REDIS_URL is set. Its
    durability: "no" (no AOF), "everysec" or "always" (AOF fsynced before each reply: the zero-loss
    configuration; README, "Fault drills")."""
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


class Bench:
    """One benchmark run: the customers and sales it set up, the slices of every run, the audits."""

    def __init__(self, crowd: Customers, vouchers: dict[str, int]):
        self.crowd, self.vouchers = crowd, vouchers
        self.runs: dict[str, list[dict]] = {}
        self.audits: dict[str, dict] = {}
        self.extra: dict[str, dict] = {}  # figures of a run beyond its slices
        self.pgbench_error: str | None = None
        self.memory: dict = {}
        self.stampede_steps: list[dict] = []

    def get(self, path: str, stack: Stack, label: str) -> Callable[[], dict]:
        crowd = self.crowd
        return lambda: load(
            requests_of("GET", path, crowd.picker()), stack=stack, seconds=SLICE, customers=crowd, label=label
        )

    def purchase(self, sale: str, stack: Stack, label: str) -> Callable[[], dict]:
        path = f"/api/v1/vouchers/{self.vouchers[sale]}/purchase"
        crowd = self.crowd
        return lambda: load(
            requests_of("POST", path, crowd.picker(once_per=sale)),
            stack=stack,
            seconds=SLICE,
            customers=crowd,
            label=label,
        )

    def uncached(self, purchase: Callable[[], dict]) -> Callable[[], dict]:
        """A purchase slice whose customers' tokens are not in the shared token lookup (Redis): the
        entries `create_customers` wrote are removed before the slice (and put back after it, for
        the other runs), so every request reads its token from the database, as for a customer
        whose token was issued long before the sale."""

        def slice_():
            entries = token_entries()
            forget_tokens(entries)
            try:
                result = purchase()
            finally:
                restore_tokens(entries)
            result["tokens_forgotten"] = len(entries)
            return result

        return slice_

    def warm_up(self) -> None:
        load(requests_of("GET", "/api/v1/wallet", self.crowd.picker()), seconds=1, label="warm-up")

    def phase_gate(self) -> None:
        """The Redis gate with the intake stopped: the accepted orders wait in the queue, then the
        worker alone writes them (timed)."""
        with Stack("web") as web:
            self.warm_up()
            alternate(
                {
                    "wallet": self.get("/api/v1/wallet", web, "wallet"),
                    "noop": self.get("/api/v1/auth/me", web, "noop"),
                    "redis": self.purchase("redis", web, "redis"),
                    "redis_uncached": self.uncached(self.purchase("redis_uncached", web, "redis_uncached")),
                    "soldout": self.purchase("soldout", web, "soldout"),
                },
                self.runs,
                "gate",
            )
        queued = accepted(self.runs["redis"], "202")
        queued_uncached = accepted(self.runs["redis_uncached"], "202")
        log(f"draining {queued} + {queued_uncached} accepted orders with the Celery worker alone")
        with Stack("worker"):
            drain = wait_for_intake(self.vouchers["redis"], queued)
            wait_for_intake(self.vouchers["redis_uncached"], queued_uncached)
        log(f"  {drain}")
        secs = drain["seconds_from_first"]
        self.extra["redis"] = {
            "intake_drain": drain,
            "intake_orders_per_second": round(queued / secs, 1) if secs else None,
        }
        self.audits["redis"] = audit_voucher(self.vouchers["redis"], queued, gate_checked=True)
        self.audits["redis_uncached"] = audit_voucher(
            self.vouchers["redis_uncached"], queued_uncached, gate_checked=True
        )
        self.audits["soldout"] = audit_voucher(self.vouchers["soldout"], 0, gate_checked=True)

    def phase_live(self) -> None:
        """As `make run` runs it. After each redis_live slice the intake is left to catch up (timed),
        so the references are measured with the worker idle, as a wallet read would be."""
        taken = 0
        with Stack("web", "worker", "beat") as stack:
            self.warm_up()
            live_purchase = self.purchase("redis_live", stack, "redis_live")

            def redis_live():
                nonlocal taken
                result = live_purchase()
                taken += result["statuses"].get("202", 0)
                result["intake_catch_up_s"] = wait_for_intake(self.vouchers["redis_live"], taken)["seconds"]
                return result

            alternate(
                {
                    "wallet_live": self.get("/api/v1/wallet", stack, "wallet_live"),
                    "noop_live": self.get("/api/v1/auth/me", stack, "noop_live"),
                    "redis_live": redis_live,
                },
                self.runs,
                "live",
            )
        catch_up = [p["intake_catch_up_s"] for p in self.runs["redis_live"]]
        busy_s = sum(p["seconds"] for p in self.runs["redis_live"]) + sum(catch_up)
        self.extra["redis_live"] = {
            "intake_catch_up_s": catch_up,
            "orders_written_per_second": round(taken / busy_s, 1) if busy_s else None,
        }
        self.audits["redis_live"] = audit_voucher(self.vouchers["redis_live"], taken, gate_checked=True)

    def phase_db(self) -> None:
        """The database gate, and PostgreSQL alone doing the same transaction."""
        with Stack("web", SECKILL_GATE="db") as web:
            self.warm_up()
            alternate(
                {
                    "wallet_db": self.get("/api/v1/wallet", web, "wallet_db"),
                    "noop_db": self.get("/api/v1/auth/me", web, "noop_db"),
                    "db": self.purchase("db", web, "db"),
                    "soldout_db": self.purchase("soldout_db", web, "soldout_db"),
                    "pgbench": self.pgbench_slice,
                },
                self.runs,
                "db",
            )
        self.audits["db"] = audit_voucher(self.vouchers["db"], accepted(self.runs["db"], "201"), gate_checked=False)
        self.audits["soldout_db"] = audit_voucher(self.vouchers["soldout_db"], 0, gate_checked=False)
        self.audits["pgbench"] = audit_pgbench(self.vouchers["pgbench"])

    def pgbench_slice(self) -> dict:
        try:
            return pgbench(self.vouchers["pgbench"], self.vouchers["org"], seconds=SLICE)
        except RuntimeError as exc:  # reported, and the ratio left out; the audits still decide
            self.pgbench_error = str(exc)
            log(f"  {exc}")
            return {"requests": 0, "seconds": SLICE, "rps": 0.0, "statuses": {"error": 1}}

    def phase_stampede(self) -> None:
        """Memory of every process over STAMPEDE requests, as `make run` runs them."""
        log(f"stampede: {STAMPEDE:,} requests (stock {STAMPEDE_STOCK:,}), memory every {STAMPEDE_STEP:,}")
        with Stack("web", "worker", "beat") as stack:
            st = stampede(stack, self.crowd, self.vouchers["stampede"])
        self.extra["stampede"], self.memory, self.stampede_steps = st["result"], st["memory"], st["steps"]
        taken = st["result"]["accepted"]
        self.audits["stampede"] = audit_voucher(self.vouchers["stampede"], taken, gate_checked=True)

    def results(self) -> dict:
        results = {name: merged(parts) for name, parts in self.runs.items()}
        for name, figures in self.extra.items():
            results.setdefault(name, {}).update(figures)
        return results


def audit_pgbench(voucher_id: int) -> dict:
    from coupons.models import Voucher
    from orders.models import Order

    _close_connections()
    v = Voucher.objects.get(pk=voucher_id)
    orders = Order.objects.filter(voucher_id=voucher_id).count()
    return {"orders": orders, "units_sold": v.initial_stock - v.stock, "ok": orders == v.initial_stock - v.stock}


def _main() -> int:
    t0 = time.time()
    for name in ("web", "worker", "beat"):
        (ROOT / "test-output" / f"bench-{name}.log").unlink(missing_ok=True)  # this run's logs only
    load_start = loadavg()
    log(f"{'QUICK smoke run; ' if QUICK else ''}load average {load_start} on {os.cpu_count()} CPUs")
    log(f"fresh database {DB_NAME}, Redis {REDIS_URL} (appendfsync: {APPENDFSYNC}), port {PORT}")
    fresh_database()
    django_setup()
    vouchers = make_vouchers()
    log(f"creating {CUSTOMERS} customers (create_customers)")
    started = time.time()
    crowd = Customers(create_customers("cold", CUSTOMERS))
    created_s = round(time.time() - started, 1)
    log(f"  {len(crowd.tokens)} customers in {created_s} s")

    bench = Bench(crowd, vouchers)
    bench.phase_gate()
    bench.phase_live()
    bench.phase_db()
    bench.phase_stampede()

    ratios, targets = compute_ratios(bench.runs)
    report = {
        "quick": QUICK,
        "customers": CUSTOMERS,
        "customers_created_seconds": created_s,
        "token_memory_seconds": TOKEN_MEMORY_SECONDS,
        "clients": CLIENTS,
        "slice_seconds": SLICE,
        "rounds": ROUNDS,
        "phases": {name: [w, o, *others] for name, (w, o, others) in PHASES.items()},
        "redis_appendfsync": APPENDFSYNC,
        "gunicorn": {"workers": int(WORKERS), "threads": int(THREADS)},
        "celery_concurrency": int(CELERY_CONCURRENCY),
        "cpus": os.cpu_count(),
        "results": bench.results(),
        "ratios": ratios,
        "targets": targets,
        "memory": bench.memory,
        "stampede": {
            "requests": STAMPEDE,
            "step": STAMPEDE_STEP,
            "stock": STAMPEDE_STOCK,
            "steps": bench.stampede_steps,
        },
        "audits": bench.audits,
        "pgbench_error": bench.pgbench_error,
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "took_seconds": round(time.time() - t0, 1),
    }
    print(render(report))
    OUT.write_text(json.dumps(report, indent=2))
    log(f"figures written to {OUT.relative_to(ROOT)} (took {time.time() - t0:.0f} s)")
    return 1 if any(not a["ok"] for a in bench.audits.values()) else 0


# Each run against the reference measured in the same phase (same server), round by round.
PHASES = {
    "gate": ("wallet", "noop", ("redis", "redis_uncached", "soldout")),
    "live": ("wallet_live", "noop_live", ("redis_live",)),
    "db": ("wallet_db", "noop_db", ("db", "soldout_db", "pgbench")),
}
TARGETS = {
    "redis_live": {"wallet": 1.0},
    "redis": {"wallet": 1.5},
    "soldout": {"wallet": 1.5},
    "soldout_db": {"wallet": 1.5},
    "db": {"wallet": 0.6, "pgbench": 0.6},
}


def compute_ratios(runs: dict[str, list[dict]]) -> tuple[dict, dict]:
    """{run: {"wallet": r, "noop": r[, "pgbench": r]}} and the targets, from the runs' slices."""
    ratios: dict[str, dict] = {}
    for wallet, noop, others in PHASES.values():
        ratios[noop] = {"wallet": median_ratio(runs[noop], runs[wallet])}
        for name in others:
            ratios[name] = {
                "wallet": median_ratio(runs[name], runs[wallet]),
                "noop": median_ratio(runs[name], runs[noop]),
            }
    if runs.get("pgbench") and any(p["rps"] for p in runs["pgbench"]):
        ratios["db"]["pgbench"] = median_ratio(runs["db"], runs["pgbench"])
    else:
        ratios["db"]["pgbench"] = None
    return ratios, TARGETS


def _cell(value, width: int) -> str:
    return f"{'—' if value is None else value:>{width}}"


def render(report: dict) -> str:
    """The figures as text tables: runs, ratios, memory, audits."""
    results, ratios, targets = report["results"], report["ratios"], report["targets"]
    out = [""]
    if report["quick"]:
        out.append("QUICK SMOKE RUN (BENCH_QUICK=1): a check of the harness, not figures to quote")
    if report["loadavg_start"][0] > report["cpus"] / 2:
        out.append(
            textwrap.fill(
                f"MACHINE BUSY: load average {report['loadavg_start'][0]} on {report['cpus']} CPUs before the run "
                "started; other work shares the CPUs, read the ratios with the CPU per request",
                width=100,
            )
        )
    out.append(
        f"{'run':<13}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'web CPU':>9}{'client':>8}"
        f"{'busy':>6}{'back':>7}  answers"
    )
    out.append(f"{'':<49}{'ms/req':>9}{'ms/req':>8}{'%':>6}{'s':>7}")
    order = [n for w, o, others in PHASES.values() for n in (w, o, *others)] + ["stampede"]
    for name in order:
        r = results.get(name)
        if not r:
            continue
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items()))
        out.append(
            f"{name:<13}{r['requests']:>9}{r['rps']:>9}{_cell(r['p50_ms'], 9)}{_cell(r['p99_ms'], 9)}"
            f"{_cell(r.get('web_cpu_ms_per_request'), 9)}{_cell(r.get('client_cpu_ms_per_request'), 8)}"
            f"{_cell(r.get('machine_busy_pct'), 6)}{_cell(r.get('customer_back_after_s'), 7)}  {answers}"
        )
    out.append(
        textwrap.fill(
            "web CPU: the gunicorn workers' utime+stime per request answered; client: the load generator's "
            "(pgbench's own for pgbench); busy: the machine's CPUs busy over the run, everyone's work included; "
            f"back: the shortest time before a customer came back ({report['customers']:,} customers; the "
            f"shared token lookup keeps an entry {report['token_memory_seconds']} s; redis_uncached empties it "
            "before each slice and fills it again after)",
            width=100,
        )
    )
    out.append("")
    head = f"{'ratio (median of rounds)':<26}{'÷ wallet':>9}{'target':>8}{'÷ no-op':>9}{'÷ pgbench':>11}{'target':>8}"
    out.append(head)
    for name in (
        "redis",
        "redis_uncached",
        "redis_live",
        "soldout",
        "soldout_db",
        "db",
        "noop",
        "noop_live",
        "noop_db",
        "pgbench",
    ):
        r = ratios.get(name)
        if r is None:
            continue
        t = targets.get(name, {})
        tw = f"≥ {t['wallet']}" if "wallet" in t else ""
        tp = f"≥ {t['pgbench']}" if "pgbench" in t else ""
        pg = _cell(r.get("pgbench"), 11) if "pgbench" in r else f"{'':>11}"
        out.append(f"{name:<26}{_cell(r['wallet'], 9)}{tw:>8}{_cell(r.get('noop'), 9)}{pg}{tp:>8}")
    out.append(
        textwrap.fill(
            f"each phase alternates its runs in {report['rounds']} rounds of {report['slice_seconds']}-second slices "
            f"against its own wallet and no-op; load average {report['loadavg_start']} at the start, "
            f"{report['loadavg_end']} at the end, on {report['cpus']} CPUs",
            width=100,
        )
    )
    r = results["redis"]
    out.append(
        textwrap.fill(
            f"intake alone: {r['statuses'].get('202', 0)} queued orders written in "
            f"{r['intake_drain']['seconds']} s from the worker's start ({r['intake_orders_per_second']} orders/s "
            f"from the first); with the intake alongside: {results['redis_live']['orders_written_per_second']} "
            f"orders/s written end to end",
            width=100,
        )
    )
    if report.get("pgbench_error"):
        out.append(f"pgbench: {report['pgbench_error']}")
    out.append("")
    mem = report["memory"]
    out.append(f"resident memory (VmRSS, MB) over the stampede of {report['stampede']['requests']:,} requests")
    out.append(f"{'process':<20}{'pid':>8}" + "".join(f"{p:>9}" for p in mem["points"]) + f"{'growth':>9}")
    for row in mem["processes"]:
        values = row["rss_kb"]
        cells = "".join(_cell(None if v is None else round(v / 1024, 1), 9) for v in values)
        known = [v for v in values if v is not None]
        growth = round((known[-1] - known[0]) / 1024, 1) if len(known) > 1 else None
        out.append(f"{row['role']:<20}{row['pid']:>8}{cells}{_cell(growth, 9)}")
    out.append("")
    for name, a in report["audits"].items():
        out.append(f"audit {name:<11} {'OK ' if a['ok'] else 'FAIL'} {json.dumps(a)}")
    return "\n".join(line.rstrip() for line in out)


if __name__ == "__main__":
    sys.exit(main())
