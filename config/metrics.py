"""The product's Prometheus metrics, in one catalogue (the dashboard in ops/grafana/ reads these
names). Each is moved where its event happens, by the single writer of that event: the request
middleware, the purchase entry point, the orders' placing, the wallet's ledger writer, parking's
auto-debit, the seckill reconciliation, the Celery signals below.

Multiprocess: under gunicorn and Celery's prefork pool every process writes its samples to
PROMETHEUS_MULTIPROC_DIR (set in the Procfile before any import of prometheus_client); `/metrics`
(or the gunicorn master's own listener, METRICS_PORT) merges them. Without that directory (tests,
`manage.py shell`) the metrics live in the process's default registry."""

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

NS = "parkmarket"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)

http_requests = Counter(
    "http_requests", "HTTP answers by view, method and status.", ["view", "method", "status"], namespace=NS
)
http_request_duration = Histogram(
    "http_request_duration_seconds",
    "Time to answer, by view and method.",
    ["view", "method"],
    namespace=NS,
    buckets=LATENCY_BUCKETS,
)

# accepted (the Redis gate took a unit, 202), written (an order row committed: the database gate or
# the intake), sold_out, limit (per-customer limit or rule), refused (window, not on sale, ...),
# failed (an accepted order the database then refused or the intake gave up on).
purchases = Counter("purchases", "Purchase attempts and orders by outcome.", ["outcome"], namespace=NS)
intake_lag = Histogram(
    "seckill_intake_lag_seconds",
    "From the Redis gate's acceptance to the order's row committed by the intake.",
    namespace=NS,
    buckets=LAG_BUCKETS,
)
gate_pending = Gauge(
    "seckill_gate_pending_entries",
    "Orders the Redis gate accepted that the intake has not written yet (seen by the reconciliation).",
    namespace=NS,
    multiprocess_mode="mostrecent",
)
gate_oldest_pending = Gauge(
    "seckill_gate_oldest_pending_seconds",
    "Age of the oldest pending entry (intake lag of what is still waiting), seen by the reconciliation.",
    namespace=NS,
    multiprocess_mode="mostrecent",
)
gate_repairs = Counter("seckill_gate_repairs", "Drift between the Redis gate and the database repaired.", namespace=NS)
oversell_alerts = Counter("seckill_oversell_alerts", "Oversells found (live orders above units sold).", namespace=NS)
order_expiries = Counter("order_expiries", "Unpaid orders expired (their unit back on sale).", namespace=NS)

wallet_credits = Counter("wallet_credits", "Committed wallet credits, by ledger kind.", ["kind"], namespace=NS)
wallet_debits = Counter("wallet_debits", "Committed wallet debits, by ledger kind.", ["kind"], namespace=NS)
wallet_credited_amount = Counter(
    "wallet_credited_minor_units", "Money credited (minor units), by ledger kind.", ["kind"], namespace=NS
)
wallet_debited_amount = Counter(
    "wallet_debited_minor_units", "Money debited (minor units), by ledger kind.", ["kind"], namespace=NS
)
parking_autodebits = Counter(
    "parking_autodebits", "Auto-debit attempts of a departed car's fee, by outcome.", ["outcome"], namespace=NS
)

money_reconciliations = Counter(
    "money_reconciliation_runs", "Runs of the daily money reconciliation, by result.", ["result"], namespace=NS
)
money_mismatches = Gauge(
    "money_reconciliation_mismatches",
    "Findings of the latest money reconciliation (0: the money adds up).",
    namespace=NS,
    multiprocess_mode="mostrecent",
)

celery_tasks = Counter("celery_tasks", "Celery task runs by task and state.", ["task", "state"], namespace=NS)
celery_task_duration = Histogram(
    "celery_task_duration_seconds", "Celery task run time, by task.", ["task"], namespace=NS, buckets=TASK_BUCKETS
)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> tuple[bytes, str]:
    """The text every scrape reads: merged from every process's files when multiprocess."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


# --- Celery: every task's runs, failures and durations ------------------------------------------------

_started: dict[str, float] = {}


def on_task_prerun(task_id=None, task=None, **kwargs) -> None:
    _started[task_id] = time.perf_counter()


def on_task_postrun(task_id=None, task=None, state=None, **kwargs) -> None:
    started = _started.pop(task_id, None)
    name = getattr(task, "name", "unknown")
    if started is not None:
        celery_task_duration.labels(name).observe(time.perf_counter() - started)
    celery_tasks.labels(name, (state or "unknown").lower()).inc()


def on_worker_process_shutdown(pid=None, **kwargs) -> None:
    """A prefork child going away: its live gauges stop counting."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(os.getpid())


def connect_celery_signals() -> None:
    from celery import signals

    signals.task_prerun.connect(on_task_prerun, weak=False, dispatch_uid="metrics-task-prerun")
    signals.task_postrun.connect(on_task_postrun, weak=False, dispatch_uid="metrics-task-postrun")
    signals.worker_process_shutdown.connect(
        on_worker_process_shutdown, weak=False, dispatch_uid="metrics-worker-process-shutdown"
    )
