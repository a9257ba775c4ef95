"""Liveness (/healthz: the process answers, nothing else is touched) and readiness (/readyz: the
database, Redis and the broker answer; 503 names the one that did not)."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_cheap_and_touches_no_dependency(client, settings, django_assert_num_queries):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # even with Redis gone, the process is alive
    with django_assert_num_queries(0):
        res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json() == {"status": "ok"}


def test_readyz_checks_database_redis_and_broker(client):
    res = client.get("/readyz")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}


def test_readyz_names_a_dead_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    res = client.get("/readyz")
    assert res.status_code == 503
    body = res.json()
    assert body["failed"] == ["redis"] and body["checks"]["redis"].startswith("error")
    assert body["checks"]["database"] == "ok"


def test_readyz_names_a_dead_broker(client, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    res = client.get("/readyz")
    assert res.status_code == 503
    assert res.json()["failed"] == ["broker"]


def test_readyz_names_a_dead_database(client, monkeypatch):
    from config import views

    def down():
        raise ConnectionError("database gone")

    monkeypatch.setattr(views, "_check_database", down)
    res = client.get("/readyz")
    assert res.status_code == 503
    assert res.json()["failed"] == ["database"]
    assert res.json()["checks"]["database"] == "error: ConnectionError"
