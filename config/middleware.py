"""Project middleware: the request id and the request metrics at the edge, requests refused before
any view, the Content-Security-Policy header, and pages answering a service's `not_found` with the
404 page."""

import secrets
import time
from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.core.signals import request_finished
from django.http import Http404, HttpResponse, JsonResponse

from . import metrics, tracing
from .errors import DomainError, error_body

NUL_MESSAGE = "The request contains a NUL character (%00), which no parameter or path may hold."


class RequestIdMiddleware:
    """The request's id (config/tracing.py): a valid X-Request-ID as sent, else a new one; bound for
    every log line of the request and the tasks it starts, and returned in the response header."""

    def __init__(self, get_response):
        self.get_response = get_response
        # Unbound when the response is finished, not on the way out of this middleware: Django logs
        # a 4xx/5xx answer (django.request) after the middleware chain, and that line carries the id too.
        request_finished.connect(tracing.on_request_finished, dispatch_uid="tracing-request-finished")

    def __call__(self, request):
        rid = tracing.valid(request.META.get(tracing.META_KEY)) or tracing.new_id()
        request.request_id = rid
        tracing.bind(rid)
        response = self.get_response(request)
        response[tracing.HEADER] = rid
        return response


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Latency and status of every answer, by view (its URL name, or its route when unnamed; one
    label for paths that match nothing, so a scan of random URLs cannot grow the series)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match.route) if match is not None else "<unmatched>"
        method = request.method if request.method in METHODS else "other"
        metrics.http_request_duration.labels(view, method).observe(time.perf_counter() - started)
        metrics.http_requests.labels(view, method, str(response.status_code)).inc()
        return response


class RejectNulMiddleware:
    """A NUL byte in the path or the query string is bad input (PostgreSQL cannot store or compare
    it, so a filter on it would fail deep in a query): 400 before any view runs, the contract's
    JSON body under /api/, a plain page elsewhere."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw_query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "\x00" in request.path_info or b"\x00" in unquote_to_bytes(raw_query):
            if request.path.startswith("/api/"):
                details = {"non_field_errors": [NUL_MESSAGE]}
                return JsonResponse(error_body("validation_error", NUL_MESSAGE, details), status=400)
            return HttpResponse(
                f"<!doctype html><title>Bad request</title><h1>Bad request (400)</h1><p>{NUL_MESSAGE}</p>",
                status=400,
            )
        return self.get_response(request)


def csp_nonce(request) -> str:
    """This request's nonce for the inline <script> blocks of a page (templates: {{ csp_nonce }})."""
    nonce = getattr(request, "_csp_nonce", None)
    if nonce is None:
        nonce = request._csp_nonce = secrets.token_urlsafe(16)
    return nonce


def build_policy(directives: dict[str, list[str]], nonce: str | None) -> str:
    parts = []
    for name, sources in directives.items():
        sources = list(sources)
        if name == "script-src" and nonce:
            sources.append(f"'nonce-{nonce}'")
        parts.append(" ".join([name, *sources]) if sources else name)
    return "; ".join(parts)


class ContentSecurityPolicyMiddleware:
    """Sends settings.CONTENT_SECURITY_POLICY on every response (unless a view set its own header).
    Scripts run only from our own origin or, inline, with this request's nonce: injected markup can
    neither load nor run a script. A view may widen the policy by setting `response.csp_update`
    (a dict of directive -> extra sources), as the API docs page does for its CDN bundle."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        directives = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        if not directives or "Content-Security-Policy" in response:
            return response
        directives = {name: list(sources) for name, sources in directives.items()}
        for name, extra in (getattr(response, "csp_update", None) or {}).items():
            directives.setdefault(name, []).extend(extra)
        header = "Content-Security-Policy-Report-Only" if getattr(settings, "CSP_REPORT_ONLY", False) else None
        response[header or "Content-Security-Policy"] = build_policy(directives, getattr(request, "_csp_nonce", None))
        return response


class DomainNotFoundMiddleware:
    """Pages answer a service's DomainError("not_found") the way Django answers Http404 (the 404
    page), so every layer says "not found" one way. The API's views never get here: DRF's exception
    handler (config/api.py) answers their errors in the contract's JSON."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError) and exception.status == 404:
            return response_for_exception(request, Http404(exception.message))
        return None
