"""Before a command that needs them runs: are the database and Redis there? One clear line each
that names what is missing and how to create or start it, instead of a pool's 10-second wait and a
buried "couldn't get a connection". Only the real mode is checked (the embedded SQLite and file
transport need nothing)."""

import sys

# Commands that need neither the database nor Redis.
NO_SERVICES = {
    "help",
    "version",
    "check",
    "shell",
    "diffsettings",
    "makemessages",
    "compilemessages",
    "collectstatic",
    "findstatic",
    "makemigrations",
    "startapp",
    "startproject",
    "show_urls_banner",
    "api_docs",
    "spectacular",
    "test",
}
EXIT_CODE = 3

PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START = "redis-server --daemonize yes --bind 127.0.0.1"


def _database_problem(db: dict) -> str | None:
    if not db["ENGINE"].endswith("postgresql"):
        return None
    import psycopg

    host, port = db.get("HOST") or "localhost", str(db.get("PORT") or 5432)
    name, user = db.get("NAME") or "", db.get("USER") or ""
    try:
        psycopg.connect(
            host=host, port=port, user=user or None, password=db.get("PASSWORD") or None, dbname=name, connect_timeout=3
        ).close()
    except psycopg.OperationalError as exc:
        cause = " ".join(str(exc).split())
        if f'database "{name}" does not exist' in cause:
            port_opt = "" if port == "5432" else f" -p {port}"
            user_opt = f" -U {user}" if user else ""
            return (
                f"PostgreSQL database {name!r} does not exist on {host}:{port}; "
                f"create it with: createdb -h {host}{port_opt}{user_opt} {name}"
            )
        if "Connection refused" in cause or "timeout" in cause or "No such file" in cause:
            return f"PostgreSQL is not running at {host}:{port}; start it ({PG_START}) or fix DATABASE_URL"
        return f"PostgreSQL at {host}:{port} refused database {name!r} for user {user!r}: {cause}"
    return None


def _redis_problem(url: str) -> str | None:
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    shown = client.connection_pool.connection_kwargs
    where = f"{shown.get('host', 'localhost')}:{shown.get('port', 6379)}"
    try:
        client.ping()
    except redis.RedisError as exc:
        cause = exc.__class__.__name__
        return f"Redis is not reachable at {where} ({cause}); start it ({REDIS_START}) or fix REDIS_URL"
    finally:
        client.close()
    return None


def problems() -> list[str]:
    from django.conf import settings

    found = [_database_problem(settings.DATABASES["default"]), _redis_problem(settings.REDIS_URL)]
    return [p for p in found if p]


def require_services(argv: list[str]) -> None:
    """Called by manage.py: exits with one line per missing service when the command needs them."""
    command = argv[1] if len(argv) > 1 else "help"
    if command.startswith("-") or command in NO_SERVICES or "--help" in argv or "-h" in argv:
        return
    found = problems()
    if found:
        for line in found:
            print(f"ParkMarket: {line}", file=sys.stderr)
        sys.exit(EXIT_CODE)
