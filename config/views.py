"""Liveness (/healthz), readiness (/readyz), the metrics (/metrics) and the throttled admin login
(the home page is coupons')."""

import hmac
import logging

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import metrics

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


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (a JSON answer, a file): the logo."""
    from django.http import HttpResponsePermanentRedirect
    from django.templatetags.static import static

    return HttpResponsePermanentRedirect(static("img/favicon.svg"))


@never_cache
def healthz(request):
    """Liveness: the process answers. Touches nothing else, so a slow database never gets a healthy
    web process restarted (that is what /readyz is for)."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    """Readiness: can this process serve? The database, Redis (when configured) and the Celery
    broker each answer; 503 names the one that did not."""
    checks: dict[str, str] = {}
    probes = [("database", _check_database), ("broker", _check_broker)]
    if settings.REDIS_URL:
        probes.insert(1, ("redis", _check_redis))
    ready = True
    for name, probe in probes:
        try:
            checks[name] = probe()
        except Exception as exc:  # a readiness check reports every failure instead of raising
            log.warning("readiness check %s failed: %s", name, exc)
            checks[name] = f"error: {exc.__class__.__name__}"
            ready = False
    failed = [name for name, result in checks.items() if result != "ok"]
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
@require_GET
def metrics_view(request):
    """The Prometheus text, for a scraper holding METRICS_TOKEN (`Authorization: Bearer …`). Without
    a token configured the endpoint does not exist (404); a wrong or missing one is 401."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse(status=404)
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode()
    ):
        response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
