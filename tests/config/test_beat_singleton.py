"""Beat as a singleton in real mode (celery-redbeat): two beats on one Redis, only the lock holder
sends; SIGKILL it and the standby takes over within the lock's timeout, each periodic task still
sent once per period (no burst of catch-up sends, no period sent twice)."""

import json
import threading
import time
from collections import defaultdict

import pytest
from django.conf import settings

from tests.drills import harness

pytestmark = pytest.mark.slow

LOCK_TIMEOUT = 6  # BEAT_LOCK_TIMEOUT: the holder renews every LOCK_TIMEOUT // 5 seconds
EXPIRE_PERIOD = 2.0  # ORDERS_EXPIRE_SECONDS
TASK = "orders.tasks.expire_due_orders"


@pytest.fixture
def broker():
    server = harness.RedisServer("beat-redis")
    yield server
    server.destroy()


def test_one_beat_sends_and_a_standby_takes_over_when_it_dies(broker):
    env = harness.product_env(
        database_url=_database_url(),
        redis_url=broker.url,
        BEAT_LOCK_TIMEOUT=str(LOCK_TIMEOUT),
        ORDERS_EXPIRE_SECONDS=str(EXPIRE_PERIOD),
        SECKILL_RECONCILE_SECONDS="3",
    )
    sent: dict[str, list[float]] = defaultdict(list)
    stop = threading.Event()

    def consume():  # what a worker would receive: every message beat publishes, with its time
        client = broker.client()
        while not stop.is_set():
            item = client.brpop(["celery"], timeout=1)
            if item is not None:
                sent[json.loads(item[1])["headers"]["task"]].append(time.monotonic())

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    first = harness.beat(env, name="beat-first")
    second = None
    try:
        harness.wait_until(lambda: len(sent[TASK]) >= 2, timeout=60, what="the first beat sending")
        second = harness.beat(env, name="beat-second")
        # The second beat starts, finds the lock held (it waits for it: redbeat logs that at DEBUG).
        harness.wait_until(
            lambda: "beat: Starting" in second.tail(), timeout=60, what="the second beat waiting for the lock"
        )
        assert broker.client().get("redbeat::lock"), "no beat holds the lock"
        before = len(sent[TASK])
        harness.wait_until(lambda: len(sent[TASK]) >= before + 3, timeout=30, what="three more periods")
        assert "Sending due task" not in second.tail(20000), "the standby sent while the holder was alive"

        first.kill()
        killed_at = time.monotonic()
        harness.wait_until(
            lambda: "Sending due task" in second.tail(20000), timeout=LOCK_TIMEOUT * 3, what="the standby taking over"
        )
        harness.wait_until(
            lambda: [t for t in sent[TASK] if t > killed_at][2:], timeout=30, what="three periods after the takeover"
        )
    finally:
        stop.set()
        consumer.join(5)
        first.stop()
        if second is not None:
            second.stop()
    times = sent[TASK]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    resumed = next(t for t in times if t > killed_at)
    # The standby took over within the lock's timeout (plus one renew interval and one period).
    assert resumed - killed_at <= LOCK_TIMEOUT + LOCK_TIMEOUT // 5 + EXPIRE_PERIOD + 1, resumed - killed_at
    harness.LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (harness.LOG_DIR / "results.jsonl").open("a") as out:
        row = {"drill": "beat takeover", "lock_timeout": LOCK_TIMEOUT, "takeover_s": round(resumed - killed_at, 1)}
        out.write(json.dumps({**row, "sends": len(times), "min_gap": round(min(gaps), 2)}) + "\n")
    # Once per period throughout: never two sends of one period (the takeover resumes from the
    # last run time stored in Redis, it does not catch up with a burst).
    assert min(gaps) >= EXPIRE_PERIOD * 0.5, gaps


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
