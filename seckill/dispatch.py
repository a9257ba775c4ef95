"""Hand-off of accepted orders to the intake, in batches, off the request thread.

The Lua script already recorded every accepted order in its voucher's pending hash, in Redis, the
same store the Celery broker uses: the order is as safe there as a queued message would be. So a
request does not wait for a Celery publish; it drops the order into this process's queue, and one
daemon thread per process publishes them in batches (`intake_orders`, up to BATCH_MAX orders,
after at most LINGER seconds: 200 ms). If the process dies with orders in its queue, the reconciliation
finds their pending entries older than SECKILL_PENDING_STALE_SECONDS and enqueues them again.
When Celery runs eagerly (tests), the hand-off is synchronous."""

import atexit
import logging
import os
import queue
import threading
import time

log = logging.getLogger("parkmarket.seckill")

BATCH_MAX = 500
# A publish costs about a millisecond of this process's CPU, and the intake writes a whole batch in
# one database call: wait up to this long to fill a batch.
LINGER = 0.2

_lock = threading.Lock()
_state: dict = {"pid": None, "queue": None}
# Orders queued and orders handed to Celery (or given up to the reconciliation) in this process.
_done = threading.Condition()
_counts = {"queued": 0, "handed": 0}


def _eager() -> bool:
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def submit(order: dict) -> None:
    """Queue one accepted order ({order_id, voucher_id, user_id, accepted_ms}) for the intake."""
    if _eager():
        from .tasks import intake_orders

        intake_orders.apply_async(kwargs={"orders": [order]})
        return
    q = _queue()
    with _done:
        _counts["queued"] += 1
    q.put(order)


def flush(timeout: float = 5.0) -> bool:
    """Wait until every order queued so far in this process has been handed to Celery. Called at
    interpreter exit (a worker stopping gracefully hands over its last batch instead of leaving it
    to the reconciliation's stale-entry sweep) and by tests. False if the timeout ran out."""
    with _done:
        target = _counts["queued"]
        return _done.wait_for(lambda: _counts["handed"] >= target, timeout)


atexit.register(flush)


def _queue() -> queue.SimpleQueue:
    pid = os.getpid()
    if _state["pid"] != pid:  # first use in this process (gunicorn forks after import)
        with _lock:
            if _state["pid"] != pid:
                q: queue.SimpleQueue = queue.SimpleQueue()
                with _done:  # a forked child inherits the parent's figures, not its thread
                    _counts.update(queued=0, handed=0)
                threading.Thread(target=_run, args=(q,), name="seckill-dispatch", daemon=True).start()
                _state.update(pid=pid, queue=q)
    return _state["queue"]


def _run(q: queue.SimpleQueue) -> None:
    from .tasks import intake_orders

    while True:
        batch = [q.get()]
        deadline = time.monotonic() + LINGER
        while len(batch) < BATCH_MAX:
            remaining = deadline - time.monotonic()
            try:
                batch.append(q.get(timeout=remaining) if remaining > 0 else q.get_nowait())
            except queue.Empty:
                break
        try:
            intake_orders.apply_async(kwargs={"orders": batch})
        except Exception:  # the pending entries stay in Redis: the reconciliation re-enqueues them
            log.exception("seckill dispatch failed for %s orders (reconciliation will re-enqueue)", len(batch))
        finally:
            from django.db import connection

            connection.close()  # only an eager (test) run opens one here; never keep it
            with _done:
                _counts["handed"] += len(batch)
                _done.notify_all()


def pending_in_process() -> int:
    q = _state["queue"]
    return q.qsize() if q is not None and _state["pid"] == os.getpid() else 0
