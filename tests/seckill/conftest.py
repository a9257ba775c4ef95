"""Helpers for the purchase-path tests: customers, gates switched by settings, thread races."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from config.errors import DomainError
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _fresh_voucher_memory():
    from orders.placing import voucher_rules_forget

    voucher_rules_forget()
    yield
    voucher_rules_forget()


@pytest.fixture
def db_gate(settings):
    """The database gate; on PostgreSQL one call of its server-side function."""
    settings.SECKILL_GATE = "db"
    return settings


@pytest.fixture
def db_gate_python(settings, monkeypatch):
    """The database gate through its Python path (what SQLite runs), on PostgreSQL."""
    from orders import placing

    settings.SECKILL_GATE = "db"
    monkeypatch.setattr(placing, "sql_gate", lambda: False)
    return settings


@pytest.fixture
def redis_gate(settings):
    settings.SECKILL_GATE = "redis"
    return settings


@pytest.fixture
def queued_intake(settings):
    """Accepted orders wait in the broker (no worker), like a sale whose workers are down."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    app.conf.task_always_eager = False
    yield
    from seckill import dispatch

    # The dispatcher thread outlives the test: it must hand its last batch to the (flushed) broker
    # now, not run it eagerly in the next test's database once eager mode is back.
    assert dispatch.flush(timeout=10), "the dispatcher did not hand over its queue"
    app.conf.task_always_eager = True


def make_users(n: int, prefix: str = "buyer"):
    from django.contrib.auth import get_user_model

    User = get_user_model()
    users = User.objects.bulk_create([User(username=f"{prefix}{i}", password="!") for i in range(n)])
    return list(User.objects.filter(username__in=[u.username for u in users]).order_by("id"))


def race(fn, args_list, workers: int = 32):
    """Run fn(*args) for every args at once on real threads (each with its own database
    connection, closed after). Returns (results, errors by code)."""
    go = threading.Event()
    results, codes = [], {}
    lock = threading.Lock()

    def call(args):
        try:
            go.wait(30)
            out = fn(*args)
            with lock:
                results.append(out)
        except DomainError as exc:
            with lock:
                codes[exc.code] = codes.get(exc.code, 0) + 1
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(call, args) for args in args_list]
        go.set()
        for f in futures:
            f.result()
    return results, codes


__all__ = ["UserFactory", "make_users", "race"]


@pytest.fixture(scope="session", autouse=True)
def _close_pools_before_the_test_database_goes(django_db_setup, django_db_blocker):
    """Threads of the race tests leave connections in psycopg's pool; close it before teardown."""
    yield
    from django.db import connections

    for conn in connections.all():
        if hasattr(conn, "close_pool"):
            conn.close_pool()
