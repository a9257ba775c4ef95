"""The health check and the throttled admin login (the home page is coupons')."""

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

log = logging.getLogger("parkmarket.health")


def _check_database() -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return "ok"


def _check_redis() -> str:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _check_broker() -> str:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def admin_login(request):
    """The admin's login behind the same "auth" budget as the API and the pages."""
    from django.contrib import admin, messages
    from django.utils.translation import gettext as _

    from .api import auth_attempt_wait

    wait = auth_attempt_wait(request) if request.method == "POST" else None
    if wait is None:
        return admin.site.login(request)
    messages.error(request, _("Too many attempts. Try again in %(s)s seconds.") % {"s": wait})
    request.method = "GET"  # show the empty form; the credentials are not even checked
    response = admin.site.login(request)
    response.status_code = 429
    response["Retry-After"] = str(wait)
    return response


def api_docs_page(view):
    """The interactive API docs load Swagger UI's bundle from its CDN: that page alone widens the
    Content-Security-Policy to it. (Its own script is served from our origin: the split view.)"""
    from functools import wraps

    cdn = ["https://cdn.jsdelivr.net"]

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.csp_update = {"script-src": cdn, "style-src": cdn, "img-src": cdn}
        return response

    return wrapped


@never_cache
def healthz(request):
    checks: dict[str, str] = {}
    probes = [("database", _check_database), ("broker", _check_broker)]
    if settings.REDIS_URL:
        probes.insert(1, ("redis", _check_redis))
    healthy = True
    for name, probe in probes:
        try:
            checks[name] = probe()
        except Exception as exc:  # a health check reports every failure instead of raising
            log.warning("health check %s failed: %s", name, exc)
            checks[name] = f"error: {exc.__class__.__name__}"
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks}, status=200 if healthy else 503
    )
