"""Test-wide set-up. The suite runs against real PostgreSQL and Redis; when either cannot be
reached it stops at once with a message saying how to start them. It never skips."""

import os

import pytest

START_HINT = """
{what} is not reachable at {where}.
The tests run against real PostgreSQL and Redis. Start them with:
  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \\
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
or point DATABASE_URL / REDIS_URL at running servers.
"""


def _check_services() -> None:
    import psycopg
    import redis
    from django.conf import settings

    db = settings.DATABASES["default"]
    where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}"
    try:
        conn = psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        )
        conn.close()
    except psycopg.OperationalError as exc:
        pytest.exit(START_HINT.format(what="PostgreSQL", where=where) + f"\n({exc})", returncode=3)
    if redis.Redis.from_url(settings.REDIS_URL).connection_pool.connection_kwargs.get("db", 0) == 0:
        pytest.exit(
            f"REDIS_URL={settings.REDIS_URL} names Redis database 0, where the product runs (README, real mode)."
            "\nEvery test flushes its Redis database: point REDIS_URL at another one, e.g. redis://127.0.0.1:6379/9.",
            returncode=3,
        )
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        pytest.exit(START_HINT.format(what="Redis", where=settings.REDIS_URL) + f"\n({exc})", returncode=3)


def pytest_configure(config):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    _check_services()


@pytest.fixture
def redis_client():
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis database (the test database number, never db 0)."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    client.flushdb()
    client.close()
    yield


@pytest.fixture
def api():
    from rest_framework.test import APIClient

    return APIClient()


def auth_client(user):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
