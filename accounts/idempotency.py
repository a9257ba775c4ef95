"""The Idempotency-Key mechanism every money- or stock-moving POST reuses: the first answer for
(user, key) is stored, errors included, and replayed for retries."""

import functools
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop
from rest_framework import exceptions
from rest_framework.response import Response

from config.api import exception_handler
from config.errors import DomainError

from .models import IdempotencyRecord

log = logging.getLogger("parkmarket.api")

IDEMPOTENCY_HEADER = "Idempotency-Key"
# A claim older than this without an answer belongs to a request whose worker died (killed, out of
# memory) before it could answer or let go: a retry takes it over instead of being refused forever.
# Far above any request's lifetime, so a slow but living request is never run twice.
IDEMPOTENCY_STALE_SECONDS = 600


def _fingerprint(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    raw = f"{request.method} {request.path}\n{body}".encode()
    return hashlib.sha256(raw).hexdigest()


def _take_over_stale(record) -> bool:
    """Claim an unanswered record left by a dead request; one conditional UPDATE, so of several
    retries racing for it exactly one wins."""
    now = timezone.now()
    return bool(
        type(record)
        .objects.filter(
            pk=record.pk, status_code__isnull=True, created_at__lt=now - timedelta(seconds=IDEMPOTENCY_STALE_SECONDS)
        )
        .update(created_at=now)
    )


def idempotent(view_method: Callable) -> Callable:
    """Decorate an APIView method (post). With an Idempotency-Key header, the first answer for
    (user, key) is stored (errors included) and replayed for retries; the same key with another
    request is 409 idempotency_conflict; a retry while the first is still running is 409 too.
    The record is claimed before the work starts, so two racing retries never both execute; a claim
    left unanswered for IDEMPOTENCY_STALE_SECONDS (its worker died) is taken over by the next retry."""

    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 200:
            raise DomainError(
                "validation_error", gettext_noop("Idempotency-Key is too long (200 characters at most)."), status=400
            )
        if not key.isprintable():
            raise DomainError(
                "validation_error", gettext_noop("Idempotency-Key must not contain control characters."), status=400
            )
        fp = _fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(user=request.user, key=key, fingerprint=fp)
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
            if record is None:  # the first request failed and let go of the key just now
                raise DomainError(
                    "idempotency_conflict",
                    gettext_noop("A request with this Idempotency-Key was just processed; retry."),
                ) from None
            if record.fingerprint != fp:
                raise DomainError("idempotency_conflict") from None
            if record.status_code is None and not _take_over_stale(record):
                raise DomainError(
                    "idempotency_conflict",
                    gettext_noop("A request with this Idempotency-Key is still being processed."),
                ) from None
            if record.status_code is not None:
                return Response(record.response_body, status=record.status_code)
        try:
            response = view_method(self, request, *args, **kwargs)
        except DomainError as exc:
            response = Response(exc.as_body(), status=exc.status)
        except exceptions.APIException as exc:
            response = exception_handler(exc, {"view": self})
        except BaseException:
            _let_go(record)  # nothing was answered: let a retry run the request again
            raise
        if response.status_code >= 500:
            _let_go(record)
            return response
        try:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                status_code=response.status_code, response_body=_storable(response.data)
            )
        except DatabaseError:
            # The work is done (the database may have dropped just after it): the caller gets its
            # answer, not an error. The claim stays unanswered, so a retry with this key is told
            # the request is still being processed (409) and never runs it a second time.
            log.exception("idempotency answer not stored for key %r; the claim stays", key)
        return response

    return wrapper


def _let_go(record) -> None:
    """Drop the claim of a request that answered nothing. When the database itself is what failed,
    the claim may stay: a retry then waits IDEMPOTENCY_STALE_SECONDS, never runs the work twice."""
    try:
        record.delete()
    except DatabaseError:
        log.warning("idempotency claim %s not released (database unavailable)", record.pk)


def _storable(data: Any) -> Any:
    """The answer as PostgreSQL's jsonb can hold it: an error message may quote the client's input,
    and jsonb refuses the NUL character, so NULs become U+FFFD in the stored copy."""
    if isinstance(data, str):
        return data.replace("\x00", "\ufffd")
    if isinstance(data, dict):
        return {k: _storable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_storable(v) for v in data]
    return data
