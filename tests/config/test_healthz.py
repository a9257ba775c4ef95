import pytest

pytestmark = pytest.mark.django_db


def test_healthz_checks_database_redis_and_broker(client):
    res = client.get("/healthz")
    assert res.status_code == 200
    assert res.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}


def test_healthz_reports_a_dead_redis(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    res = client.get("/healthz")
    assert res.status_code == 503
    assert res.json()["checks"]["redis"].startswith("error")
