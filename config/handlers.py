"""Django-level error handlers: JSON in the contract's shape under /api/, the product's own pages
elsewhere (both languages, whatever DEBUG says). The pages extend templates/errors/base.html, which
reads neither the database nor the session, so a 500 caused by either still renders."""

import sys

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .api import OUTAGE_RETRY_AFTER, is_backend_outage, json_not_found, json_server_error, json_service_unavailable
from .errors import error_body


def _page(request, template: str, status: int, context: dict | None = None) -> HttpResponse:
    return HttpResponse(render_to_string(template, context or {}, request=None), status=status)


def bad_request(request, exception=None):
    # Raised before any view runs (a Host outside ALLOWED_HOSTS, a SuspiciousOperation in middleware).
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("validation_error", "Bad request."), status=400)
    return _page(request, "errors/400.html", 400)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)
    return _page(request, "errors/403.html", 403)


def csrf_failure(request, reason=""):
    """settings.CSRF_FAILURE_VIEW: an expired or missing form token (a page kept open across a
    login, cookies blocked). The visitor is told what to do, not Django's reason."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("permission_denied", "CSRF check failed."), status=403)
    return _page(request, "errors/403.html", 403, {"csrf": True})


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return _page(request, "errors/404.html", 404)


def server_error(request):
    # Django calls this while handling the uncaught exception: a database, Redis or broker outage
    # (raised in a page, in a middleware, or in the API before DRF's handler) is a 503, not a 500.
    if is_backend_outage(sys.exc_info()[1]):
        if request.path.startswith("/api/"):
            return json_service_unavailable(request)
        response = _page(request, "errors/503.html", 503)
        response["Retry-After"] = OUTAGE_RETRY_AFTER
        return response
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return _page(request, "errors/500.html", 500)
