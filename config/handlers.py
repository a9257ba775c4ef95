"""Django-level error handlers: JSON in the contract's shape under /api/, pages elsewhere."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults

from .api import json_not_found, json_server_error
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
    if request.path.startswith("/api/"):
        return json_server_error(request)
    return render(request, "500.html", status=500)
