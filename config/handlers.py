"""Django-level error handlers: JSON in the contract's shape under /api/, pages elsewhere."""

import sys

from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from .api import OUTAGE_RETRY_AFTER, is_backend_outage, json_not_found, json_server_error, json_service_unavailable
from .errors import error_body


def bad_request(request, exception=None):
    # Raised before any view runs (a Host outside ALLOWED_HOSTS, a SuspiciousOperation in middleware).
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("validation_error", "Bad request."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return json_not_found(request, exception)
    return render(request, "404.html", status=404)


def server_error(request):
    # Django calls this while handling the uncaught exception: a database, Redis or broker outage
    # (raised in a page, in a middleware, or in the API before DRF's handler) is a 503, not a 500.
    if is_backend_outage(sys.exc_info()[1]):
        if request.path.startswith("/api/"):
            return json_service_unavailable(request)
        response = render(request, "503.html", status=503)
        response["Retry-After"] = OUTAGE_RETRY_AFTER
        return response
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return render(request, "500.html", status=500)
