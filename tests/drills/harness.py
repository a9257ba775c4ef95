"""The drill harness: servers of a drill's own (PostgreSQL, Redis), the product's real processes
(gunicorn, Celery workers, beat), a flash sale with hundreds of buyers over HTTP, and the audit
that every drill ends with.

Nothing here touches the machine's shared PostgreSQL or Redis: every server is started in a
temporary folder on a free loopback port and stopped at the end. Waits are for events (a port
answering, a row written, a key set), each with a deadline; nothing sleeps for a fixed time to
"let things settle"."""

from __future__ import annotations

import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
LOG_DIR = ROOT / "test-output" / "drills"


def free_port(below: int = 65536) -> int:
    """A free loopback port under `below` (a Redis Cluster node also needs port + 10000)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port < below:
            return port


def wait_until(predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy (returned) or `timeout` seconds pass
    (AssertionError naming `what`). An exception from the predicate counts as "not yet", except
    an AssertionError: the predicate saw something that will not get better (a process died)."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError:
            raise
        except Exception as exc:  # a server still starting, a connection refused: not yet
            last_error = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s (last error: {last_error!r})")
        time.sleep(interval)


# --- processes ------------------------------------------------------------------------------------


class Proc:
    """A child in its own process group, its output in a log file under test-output/drills/."""

    def __init__(self, name: str, cmd: list[str], *, env: dict | None = None, cwd: Path | str = ROOT):
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOG_DIR / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self._log.write(f"\n--- {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
        self._log.flush()
        self._start = self._log.tell()  # the log is kept across runs; this process's output starts here
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        """SIGKILL the whole group (a crash: no handler runs)."""
        self.signal_group(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(30)
        else:
            self.signal_group(signal.SIGKILL)  # children left behind by a dead leader
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        """The last `chars` characters this process wrote (never an earlier run's lines in the same file)."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._start)
                return log.read().decode(errors="replace")[-chars:]
        except OSError:
            return ""


class Supervised:
    """A process restarted whenever it exits, as systemd (Restart=always) or Kubernetes would. A
    Celery worker stops itself when Redis goes away under it (kombu: "Unrecoverable error" while
    the broker connection is torn down), and so does beat (redbeat cannot renew its lock): both
    rely on their supervisor to come back. `restarts` counts how often it had to."""

    def __init__(self, start: Callable[[int], Proc]):
        self._start = start
        self.restarts = 0
        self.proc = start(0)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @property
    def name(self) -> str:
        return self.proc.name

    @property
    def log_path(self) -> Path:
        return self.proc.log_path

    def _watch(self) -> None:
        while not self._stopping.is_set():
            if self.proc.proc.poll() is not None and not self._stopping.is_set():
                self.proc.stop()
                self.restarts += 1
                self.proc = self._start(self.restarts)
            self._stopping.wait(0.2)

    def kill(self) -> None:
        self.proc.kill()

    def tail(self, chars: int = 3000) -> str:
        return self.proc.tail(chars)

    def stop(self, timeout: float = 20) -> None:
        self._stopping.set()
        self._thread.join(5)
        self.proc.stop(timeout)


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)")
    return found[-1]


class Postgres:
    """A PostgreSQL cluster of the drill's own (initdb in a temp dir, a free loopback port)."""

    def __init__(self, name: str = "pg"):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"drill-{name}-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            _as_postgres([_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth", "trust", "-E", "UTF8"]),
            check=True,
            capture_output=True,
        )
        self.start()

    def url(self, dbname: str = "drill") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200 "
            # fsync off: a drill crashes PostgreSQL, never the machine, so what a commit wrote
            # to the OS survives. synchronous_commit stays on, as in production: with it off, an
            # acknowledged commit can be lost by a crash, and the drill would show just that.
            "-c fsync=off"
        )
        subprocess.run(
            _as_postgres(
                [_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"]
            ),
            check=True,
            capture_output=True,
            timeout=60,
        )

    def stop(self, mode: str = "fast") -> None:
        """mode "fast" is a clean shutdown, "immediate" a crash (recovery on the next start)."""
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )

    def createdb(self, dbname: str = "drill") -> None:
        subprocess.run(
            ["createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", dbname],
            check=True,
            capture_output=True,
        )

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class RedisServer:
    """A redis-server of the drill's own. `appendfsync`: None (no persistence), "everysec" or
    "always" (AOF on)."""

    def __init__(self, name: str = "redis", *, appendfsync: str | None = None, extra: list[str] | None = None):
        self.name = name
        self.dir = Path(tempfile.mkdtemp(prefix=f"drill-{name}-"))
        self.port = free_port(below=55535)  # room for a cluster bus port (port + 10000)
        self.appendfsync = appendfsync
        self.extra = extra or []
        self.proc: Proc | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, decode_responses=True, socket_timeout=5)

    def start(self) -> None:
        aof = ["--appendonly", "yes", "--appendfsync", self.appendfsync] if self.appendfsync else ["--appendonly", "no"]
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        cmd += ["--save", "", *aof, *self.extra]
        self.proc = Proc(f"{self.name}-{self.port}", cmd)
        wait_until(lambda: self.client().ping(), timeout=30, what=f"{self.name} answering PING")

    def shutdown(self) -> None:
        """A clean stop (SHUTDOWN: the AOF is flushed and fsynced)."""
        import redis

        try:
            self.client().shutdown(nosave=self.appendfsync is None)
        except redis.ConnectionError:
            pass
        self.proc.proc.wait(30)
        self.proc.stop()

    def kill(self) -> None:
        """SIGKILL: a crash, nothing flushed beyond what appendfsync already wrote."""
        self.proc.kill()
        self.proc.stop()

    def destroy(self) -> None:
        if self.proc is not None and self.proc.alive():
            self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the product ----------------------------------------------------------------------------------


def product_env(*, database_url: str, redis_url: str, **overrides: str) -> dict[str, str]:
    """Production settings against the drill's servers, with short reconciliation periods."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_SETTINGS_MODULE")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY="drill-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PAYMENT_WEBHOOK_SECRET="drill-webhook-secret",
        SECURE_SSL_REDIRECT="false",
        SECKILL_GATE="redis",
        THROTTLE_PURCHASE="100000/min",
        SECKILL_RECONCILE_SECONDS="4",
        SECKILL_PENDING_STALE_SECONDS="6",
        SECKILL_INTAKE_MAX_RETRIES="8",
        SECKILL_INTAKE_BACKOFF_MAX="2",
        BEAT_LOCK_TIMEOUT="10",
        DB_POOL_MAX="8",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def python(env: dict, code: str, *, timeout: float = 180) -> object:
    """Run `code` in a Django process of the drill's product; the code sets `result`, returned
    from JSON."""
    script = (
        "import json, django\ndjango.setup()\nresult = None\n" + code + "\nprint('\\nRESULT ' + json.dumps(result))"
    )
    res = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if res.returncode != 0:
        raise RuntimeError(f"drill script failed:\n{res.stderr[-4000:]}")
    line = next(ln for ln in reversed(res.stdout.splitlines()) if ln.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def manage(env: dict, *args: str, timeout: float = 300) -> str:
    res = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if res.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{res.stderr[-4000:]}")
    return res.stdout


def gunicorn(env: dict, *, port: int, name: str = "web", workers: int = 2, threads: int = 4) -> Proc:
    cmd = [str(VENV_BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(workers), "--threads", str(threads), "--graceful-timeout", "5", "--backlog", "1024"]
    proc = Proc(name, cmd, env=env)
    wait_until(lambda: http_get(port, "/healthz")[0] in (200, 503), timeout=60, what=f"{name} answering /healthz")
    return proc


def worker(env: dict, *, name: str = "worker", concurrency: int = 2, queues: str = "celery") -> Proc:
    cmd = [str(VENV_BIN / "celery"), "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", str(concurrency)]
    cmd += ["--without-gossip", "--without-mingle", "-n", f"{name}@%h", "-Q", queues]
    return Proc(name, cmd, env=env)


def beat(env: dict, *, name: str = "beat") -> Proc:
    return Proc(name, [str(VENV_BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO"], env=env)


def http_get(port: int, path: str, token: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Token {token}"} if token else {}
        conn.request("GET", path, headers=headers)
        res = conn.getresponse()
        body = res.read()
        return res.status, (json.loads(body) if body.startswith(b"{") else {})
    finally:
        conn.close()


# --- the flash sale -------------------------------------------------------------------------------


SALE_SETUP = """
from datetime import timedelta
from django.utils import timezone
from accounts.services import operator_create
from coupons.services import voucher_create
op = operator_create(
    organization_name="Drill Parking {tag}", username="drill-op-{tag}", password="Parking-gates-open-77"
)
now = timezone.now()
result = []
for i in range({vouchers}):
    result.append(voucher_create(organization=op.organization, data={{
        "title": f"Drill flash sale {tag} {{i}}", "kind": "seckill", "price": 100, "benefit_type": "minutes",
        "benefit_value": 60, "stock": {stock}, "begins_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(hours=2), "per_user_limit": {limit}, "low_stock_threshold": {threshold},
    }}).pk)
"""


def make_sale(env: dict, *, stock: int, limit: int, vouchers: int = 1, threshold: int = 0, tag: str = "") -> list[int]:
    tag = tag or uuid.uuid4().hex[:6]
    return python(env, SALE_SETUP.format(tag=tag, stock=stock, limit=limit, vouchers=vouchers, threshold=threshold))  # type: ignore[return-value]


def make_buyers(env: dict, count: int, prefix: str = "buyer") -> list[str]:
    out = manage(env, "create_customers", "--count", str(count), "--prefix", prefix, "--password", "Drill-pass-2024")
    return [line.split()[1] for line in out.splitlines() if line.strip()]


@dataclass
class Answer:
    status: int  # 0: no HTTP answer (connection refused or reset)
    code: str = ""
    order_id: str = ""
    order_status: str = ""
    error: str = ""


@dataclass
class Sale:
    """Buyers POSTing purchases over HTTP, each with its own Idempotency-Key per attempt, retrying
    an attempt (same key) while the answer is 503 or no answer at all, as a client would.

    `ports` are the web instances, used in turn. Attempts start spread over `spread` seconds, so
    a fault injected mid-sale finds requests in flight. Every answer is kept."""

    ports: list[int]
    voucher_ids: list[int]
    tokens: list[str]
    attempts: int = 2
    spread: float = 8.0
    retry_for: float = 60.0
    threads: int = 48
    answers: list[Answer] = field(default_factory=list)
    finals: list[Answer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _started: threading.Event = field(default_factory=threading.Event)

    def count(self) -> int:
        with self._lock:
            return len(self.answers)

    def _post(self, port: int, path: str, token: str, key: str) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(
                "POST",
                path,
                body=b"{}",
                headers={"Authorization": f"Token {token}", "Content-Type": "application/json", "Idempotency-Key": key},
            )
            res = conn.getresponse()
            raw = res.read()
        except (OSError, http.client.HTTPException) as exc:
            return Answer(status=0, error=exc.__class__.__name__)
        finally:
            conn.close()
        try:
            body = json.loads(raw)
        except ValueError:
            return Answer(status=res.status, error=raw[:200].decode(errors="replace"))
        if "order" in body:
            return Answer(status=res.status, order_id=body["order"]["id"], order_status=body["order"]["status"])
        return Answer(status=res.status, code=body.get("error", {}).get("code", ""))

    def _attempt(self, n: int, start_at: float) -> None:
        time.sleep(max(0.0, start_at - time.monotonic()))  # the attempt's place in the sale's timeline
        buyer = (n // self.attempts) % len(self.tokens)  # a buyer's attempts come close together
        token = self.tokens[buyer]
        voucher_id = self.voucher_ids[buyer % len(self.voucher_ids)]
        path = f"/api/v1/vouchers/{voucher_id}/purchase"
        key = f"drill-{uuid.uuid4()}"
        give_up = time.monotonic() + self.retry_for
        tries = 0
        while True:
            answer = self._post(self.ports[(n + tries) % len(self.ports)], path, token, key)
            tries += 1
            with self._lock:
                self.answers.append(answer)
            if answer.status not in (0, 503) or time.monotonic() >= give_up:
                with self._lock:
                    self.finals.append(answer)
                return
            time.sleep(min(0.25 * tries, 1.0))  # a client's back-off before the retry

    def run(self) -> Sale:
        """Run the whole sale (blocking)."""
        jobs = self.attempts * len(self.tokens)
        t0 = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for n in range(jobs):
                pool.submit(self._attempt, n, t0 + self.spread * n / jobs)
        return self

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="sale", daemon=True)
        thread.start()
        return thread

    # --- what the buyers saw ---

    def statuses(self) -> Counter:
        return Counter((a.status, a.code) for a in self.answers)

    def accepted(self) -> dict[str, str]:
        """order id -> status for every 201/202 answer."""
        return {a.order_id: a.order_status for a in self.finals if a.status in (201, 202)}

    def unexpected(self, *, allow_503: bool = True, allow_no_answer: bool = False) -> list[Answer]:
        """Answers that are neither 201/202 nor a refusal with its code: a 500, an error without a
        code, a 503 when no dependency was down, no answer where every request should get one."""
        bad = []
        for a in self.answers:
            if a.status in (201, 202) and a.order_id:
                continue
            if a.status == 0 and allow_no_answer:
                continue
            if a.status == 503 and a.code == "service_unavailable" and allow_503:
                continue
            if a.status in (400, 401, 403, 404, 409, 429) and a.code:
                continue
            bad.append(a)
        return bad


AUDIT = """
from django.db.models import Count
from coupons.models import Alert, Voucher
from orders.models import Order
from seckill import gate
ids = {ids}
accepted = {accepted}
vouchers = []
for v in Voucher.objects.filter(pk__in=ids).order_by("pk"):
    live = Order.objects.filter(voucher=v, status__in=Order.LIVE)
    per_user = live.values("user_id").annotate(n=Count("id")).order_by("-n").first()
    meta, gate_stock = gate.peek(v.pk)
    vouchers.append({{
        "id": v.pk, "initial": v.initial_stock, "stock": v.stock, "sold_count": v.sold_count,
        "live": live.count(), "max_per_user": per_user["n"] if per_user else 0, "limit": v.per_user_limit,
        "gate_stock": gate_stock, "pending": gate.client().hlen(gate.keys(v.pk).pending),
        "failed": dict(Counter(
            Order.objects.filter(voucher=v, status="failed").values_list("failure_code", flat=True))),
    }})
rows = dict(Order.objects.filter(pk__in=accepted).values_list("id", "status"))
codes = dict(Order.objects.filter(pk__in=accepted, status="failed").values_list("id", "failure_code"))
states = Counter()
unsettled = []
for oid in accepted:
    import uuid as _u
    status = rows.get(_u.UUID(oid))
    code = codes.get(_u.UUID(oid), "")
    if status in ("pending_payment", "paid") or (status == "failed" and code):
        states[status] += 1
    else:
        unsettled.append([oid, status])
alerts = dict(Counter(Alert.objects.filter(voucher_id__in=ids).values_list("kind", flat=True)))
result = {{"vouchers": vouchers, "states": dict(states), "unsettled": unsettled[:20], "n_unsettled": len(unsettled),
          "alerts": alerts}}
"""


def audit(env: dict, voucher_ids: list[int], accepted: list[str]) -> dict:
    code = "from collections import Counter\n" + AUDIT.format(ids=list(voucher_ids), accepted=list(accepted))
    return python(env, code)  # type: ignore[return-value]


def settled(report: dict) -> bool:
    """Every accepted order written in a final state, the gate agreeing with the database."""
    return report["n_unsettled"] == 0 and all(
        v["pending"] == 0 and v["gate_stock"] == v["stock"] for v in report["vouchers"]
    )


def assert_promise(report: dict) -> None:
    """No oversell, nobody over the limit, the database's books consistent, gate = database."""
    for v in report["vouchers"]:
        assert v["live"] <= v["initial"], f"oversell: {v}"
        assert v["initial"] - v["stock"] == v["live"] == v["sold_count"], f"stock does not add up: {v}"
        assert v["max_per_user"] <= v["limit"], f"a customer over the limit: {v}"
        assert v["gate_stock"] == v["stock"] and v["pending"] == 0, f"gate differs from the database: {v}"
    assert report["n_unsettled"] == 0, f"accepted orders not settled: {report['unsettled']}"
    assert "oversell" not in report["alerts"], report["alerts"]


def wait_settled(env: dict, voucher_ids: list[int], accepted: list[str], *, timeout: float = 120) -> dict:
    last: list[dict] = []

    def check():
        last[:] = [audit(env, voucher_ids, accepted)]
        return last[0] if settled(last[0]) else None

    try:
        return wait_until(
            check, timeout=timeout, what="every accepted order written, the gate = the database", interval=1.0
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nlast audit: {json.dumps(last[:1])}") from None
