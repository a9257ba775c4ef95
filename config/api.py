"""API foundation: the contract's error body for every error, strict money fields and throttles.
(The Idempotency-Key mechanism needs a table: it lives in accounts/idempotency.py.)"""

import logging
import os
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle
from rest_framework.views import set_rollback

from .errors import DomainError, error_body

log = logging.getLogger("parkmarket.api")

MAX_MONEY = 10_000_000_00  # ten million in major units: anything above is a typo or an attack


def _flatten(detail: Any) -> Any:
    if isinstance(detail, dict):
        return {k: _flatten(v) for k, v in detail.items()}
    if isinstance(detail, list):
        return [_flatten(v) for v in detail]
    return str(detail)


_PARSERS_FILE = os.path.join("rest_framework", "parsers.py")


def _raised_by_a_parser(exc: BaseException) -> bool:
    """True when the exception came out of a request parser (JSON nested deeper than the decoder
    can follow raises RecursionError there): bad input, not a bug."""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(_PARSERS_FILE):
            return True
        tb = tb.tb_next
    return False


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF exception handler: every error leaves in the contract's shape, never as a 500 page."""
    if isinstance(exc, RecursionError) and _raised_by_a_parser(exc):
        exc = exceptions.ParseError("The request body is nested too deeply.")
    if isinstance(exc, SuspiciousOperation):
        # Django refuses a body above DATA_UPLOAD_MAX_MEMORY_SIZE or a form with too many fields
        # (or files) when the view reads it: bad input, answered as Django itself would, with a 400.
        message = (
            "The request body is too large." if isinstance(exc, RequestDataTooBig) else "The request is not acceptable."
        )
        exc = exceptions.ValidationError({"non_field_errors": [message]})
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(exc.as_body(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if isinstance(exc, exceptions.Throttled):
            code = "rate_limited"
            message = "Too many requests; slow down."
            details = {"retry_after": exc.wait}
            if exc.wait is not None:
                headers["Retry-After"] = str(int(exc.wait) + 1)
        elif isinstance(exc, (exceptions.ValidationError, exceptions.ParseError)):
            code = "validation_error"
            message = (
                "The request body is not valid JSON."
                if isinstance(exc, exceptions.ParseError)
                else "The request is not valid."
            )
            detail = exc.detail if isinstance(exc.detail, dict | list) else [exc.detail]
            details = _flatten(detail) if isinstance(detail, dict) else {"non_field_errors": _flatten(detail)}
        elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
            code, message, details = "not_authenticated", str(exc.detail), {}
        elif isinstance(exc, exceptions.PermissionDenied):
            code, message, details = "permission_denied", str(exc.detail), {}
        elif isinstance(exc, exceptions.NotFound):
            code, message, details = "not_found", "Not found.", {}
        elif isinstance(exc, exceptions.MethodNotAllowed):
            code, message, details = "method_not_allowed", str(exc.detail), {}
        elif isinstance(exc, exceptions.UnsupportedMediaType):
            code, message, details = "validation_error", str(exc.detail), {}
        else:
            code, message, details = exc.default_code, str(exc.detail), {}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        status_code = exc.status_code
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            status_code = 401
        set_rollback()
        return Response(error_body(code, message, details), status=status_code, headers=headers)
    if is_backend_outage(exc):
        # PostgreSQL, Redis or the broker is unreachable: a temporary outage, not a bug. The caller
        # may retry (with the same Idempotency-Key: an answered request is never run twice).
        log.error("backend unavailable in %s: %r", context.get("view").__class__.__name__, exc)
        set_rollback()
        return Response(
            error_body("service_unavailable", OUTAGE_MESSAGE),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": OUTAGE_RETRY_AFTER},
        )
    log.exception("unhandled error in %s", context.get("view").__class__.__name__)
    set_rollback()
    return Response(
        error_body("server_error", "Something went wrong on our side; it has been logged."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


OUTAGE_MESSAGE = "The service is briefly unavailable; please retry shortly."
OUTAGE_RETRY_AFTER = "5"


def is_backend_outage(exc: BaseException | None) -> bool:
    """True for an error that says a server the product depends on cannot be reached right now:
    PostgreSQL gone or restarting (Django's OperationalError / InterfaceError, a pool that found
    no connection within DB_POOL_TIMEOUT), Redis, or the broker. Such a request is answered 503
    `service_unavailable`, never 500: nothing is wrong with it, and a retry may succeed.
    Django's OperationalError also covers a few statement errors (a lock timeout, a cancelled
    query); those too are transient, and a retry is the right advice."""
    import psycopg
    import redis
    from django.db import InterfaceError, OperationalError
    from kombu.exceptions import OperationalError as BrokerError

    return isinstance(
        exc,
        OperationalError
        | InterfaceError
        | psycopg.OperationalError
        | psycopg.InterfaceError
        | redis.ConnectionError
        | redis.TimeoutError
        | BrokerError,
    )


def json_not_found(request, exception=None):
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_service_unavailable(request):
    return JsonResponse(
        error_body("service_unavailable", OUTAGE_MESSAGE), status=503, headers={"Retry-After": OUTAGE_RETRY_AFTER}
    )


def json_server_error(request):
    return JsonResponse(error_body("server_error", "Something went wrong on our side."), status=500)


_DATETIME = serializers.DateTimeField()


def iso_time(value) -> str | None:
    """A time as the API writes it (ISO 8601 with the offset of the current zone), None as None.
    Bodies built by hand use it, so an Idempotency-Key replay answers byte for byte the same."""
    return None if value is None else _DATETIME.to_representation(value)


class StrictMoneyField(serializers.Field):
    """A positive amount of minor units given as a JSON integer: no strings, floats, or booleans."""

    default_error_messages = {
        "invalid": "Must be a whole number of minor units (an integer, e.g. 1000 for 10.00).",
        "min_value": "Must be at least {min_value}.",
        "max_value": "Must be at most {max_value}.",
    }

    def __init__(self, *, min_value: int = 1, max_value: int = MAX_MONEY, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if data < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        return data

    def to_representation(self, value):
        return int(value)


class StrictIntegerField(serializers.Field):
    """A quantity given as a JSON integer (stock, capacity, minutes, limits): no "300" strings, no
    5.0 floats, no booleans. For money use StrictMoneyField."""

    default_error_messages = {
        "invalid": 'Must be a whole number given as a JSON integer (e.g. 5, not "5" or 5.0).',
        "min_value": "Must be at least {min_value}.",
        "max_value": "Must be at most {max_value}.",
    }

    def __init__(self, *, min_value: int | None = 0, max_value: int | None = 2_147_483_647, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        if self.min_value is not None and data < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if self.max_value is not None and data > self.max_value:
            self.fail("max_value", max_value=self.max_value)
        return data

    def to_representation(self, value):
        return int(value)


class _QueryValue:
    """A query parameter taken as given: DRF reads an empty `?status=` as "not given", which the
    schema (an enum, an integer) does not allow; here it is a value, refused like any wrong one."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, serializers.empty)


class QueryIntegerField(_QueryValue, serializers.IntegerField):
    """A whole number in a query string: ASCII digits only ("", "²", "١", "1.0" and "-1" are refused)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", 2_147_483_647)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        from .ids import is_id

        if not is_id(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class QueryIdField(QueryIntegerField):
    """An id in a query string."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        super().__init__(**kwargs)


class QueryChoiceField(_QueryValue, serializers.ChoiceField):
    """One of the choices in a query string; an empty value is not one of them."""


class StrictCharField(serializers.CharField):
    """Text given as a JSON string: 0, 1.5 or true are not names."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 time that must say its offset ("2026-05-01T08:00:00+08:00" or "...Z"). A time
    without one is refused with a 400 instead of being read silently in the server's time zone."""

    default_error_messages = {
        "naive": (
            "Give the time with its UTC offset, e.g. 2026-05-01T08:00:00+08:00 or 2026-05-01T00:00:00Z; "
            "a time without one is ambiguous."
        ),
    }

    def to_internal_value(self, value):
        from datetime import datetime

        from django.utils import timezone
        from django.utils.dateparse import parse_datetime

        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        else:
            parsed = None
        if parsed is not None and timezone.is_naive(parsed):
            self.fail("naive")
        return super().to_internal_value(value)


class AuthThrottle(ScopedRateThrottle):
    scope_attr = "throttle_scope"


class _AuthScope:
    throttle_scope = "auth"


def auth_attempt_wait(request) -> int | None:
    """For the login and register pages and the admin login: None when this client may try again,
    else the seconds to wait. They share the API's "auth" budget (same cache key per client
    address), so no page is a way around the token endpoint's throttle. When the counters are
    unreachable (Redis down) the attempt is let through and logged, not everyone locked out."""
    import redis

    throttle = AuthThrottle()
    try:
        if throttle.allow_request(request, _AuthScope()):
            return None
    except redis.RedisError as exc:
        log.warning("auth throttle unavailable, request let through: %r", exc)
        return None
    return int(throttle.wait() or 0) + 1


class PurchaseThrottle(UserRateThrottle):
    scope = "purchase"


class MoneyThrottle(UserRateThrottle):
    scope = "money"
