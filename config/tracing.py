"""Request ids: one id per request, taken from a valid incoming X-Request-ID (a proxy or a client
that already has one) or made at the edge, returned in the response's X-Request-ID, stamped on
every log line (`RequestIdFilter`) and carried into the Celery tasks the request starts (a message
header set at publish, restored around the task's run). A task started by no request (beat) gets
an id of its own, so the lines of one run still belong together."""

import contextvars
import re
import uuid

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
TASK_HEADER = "request_id"
# What an incoming id may be: printable, no spaces or quotes, bounded (it is logged and echoed).
VALID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=/-]{0,127}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def new_id() -> str:
    return uuid.uuid4().hex


def valid(value) -> str | None:
    return value if isinstance(value, str) and VALID.fullmatch(value) else None


def current() -> str | None:
    return _current.get()


def bind(request_id: str | None) -> contextvars.Token:
    return _current.set(request_id)


def unbind(token: contextvars.Token) -> None:
    _current.reset(token)


def on_request_finished(**kwargs) -> None:
    """Django's `request_finished`: the thread's next lines belong to no request until the next one."""
    _current.set(None)


class RequestIdFilter:
    """A logging filter (on the handlers) that gives every record `request_id` ("-" outside one)."""

    def filter(self, record) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get() or "-"
        return True


# --- Celery ---------------------------------------------------------------------------------------------

_task_tokens: dict[str, contextvars.Token] = {}


def on_before_task_publish(headers=None, **kwargs) -> None:
    """The publishing side: the current request's id travels as a message header."""
    rid = _current.get()
    if rid and headers is not None:
        headers.setdefault(TASK_HEADER, rid)


def on_task_prerun(task_id=None, task=None, **kwargs) -> None:
    """The worker's side: the task runs under the id it was sent with (or a new one). An eager
    task runs inside its caller and keeps the caller's id."""
    request = getattr(task, "request", None)
    if request is not None and getattr(request, "is_eager", False) and _current.get():
        return
    rid = valid(getattr(request, TASK_HEADER, None) if request is not None else None) or new_id()
    _task_tokens[task_id] = _current.set(rid)


def on_task_postrun(task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _current.reset(token)


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(on_before_task_publish, weak=False, dispatch_uid="tracing-publish")
    signals.task_prerun.connect(on_task_prerun, weak=False, dispatch_uid="tracing-prerun")
    signals.task_postrun.connect(on_task_postrun, weak=False, dispatch_uid="tracing-postrun")
