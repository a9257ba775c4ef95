"""Request ids: taken from a valid X-Request-ID or made at the edge, returned in the response, on
every log line of the request (the django.request line Django writes after the middleware too),
carried into the Celery tasks the request starts; JSON log lines in production."""

import json
import logging
import re

import pytest
from celery.contrib.testing.worker import start_worker

from config import tracing
from config.celery import app
from tests.config.test_settings import _manage

pytestmark = pytest.mark.django_db


@app.task(name="tests.tracing.whoami")
def whoami() -> str | None:
    logging.getLogger("parkmarket.tests").info("task running")
    return tracing.current()


class Collect(logging.Handler):
    """A handler with the project's filter, as the console handler has it."""

    def __init__(self):
        super().__init__()
        self.addFilter(tracing.RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def lines():
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler.records
    root.removeHandler(handler)


def test_an_id_is_made_when_none_comes_in(client):
    rid = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert client.get("/healthz")["X-Request-ID"] != rid


def test_a_valid_incoming_id_is_kept(client):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a:01.2")["X-Request-ID"] == "lb-7f3a:01.2"


@pytest.mark.parametrize("bad", ["has space", "x" * 129, 'quote"d', "new\nline", "-starts-with-dash", ""])
def test_an_invalid_incoming_id_is_replaced(client, bad):
    rid = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
    assert rid != bad and re.fullmatch(r"[0-9a-f]{32}", rid)


def test_every_line_of_the_request_carries_its_id(client, settings, lines):
    settings.METRICS_TOKEN = "t"
    res = client.get("/metrics", HTTP_X_REQUEST_ID="req-42")  # 401: Django logs it after the middleware
    assert res.status_code == 401
    mine = [r for r in lines if r.name == "django.request"]
    assert mine and all(r.request_id == "req-42" for r in mine)
    lines.clear()
    logging.getLogger("parkmarket.tests").info("between requests")
    assert lines[-1].request_id == "-"


def test_an_eager_task_runs_under_the_requests_id(lines):
    token = tracing.bind("req-eager")
    try:
        assert whoami.delay().get() == "req-eager"
    finally:
        tracing.unbind(token)
    assert [r.request_id for r in lines if r.getMessage() == "task running"] == ["req-eager"]


@pytest.mark.django_db(transaction=True)
def test_the_id_travels_to_a_worker_in_the_message_headers():
    """A real worker (in a thread, on the test Redis broker): the task runs under the id of the
    request that published it; a task published outside any request gets an id of its own."""
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            token = tracing.bind("req-to-worker")
            try:
                sent = whoami.delay()
            finally:
                tracing.unbind(token)
            assert sent.get(timeout=20) == "req-to-worker"
            own = whoami.delay().get(timeout=20)
    finally:
        app.conf.task_always_eager = True
    assert own and own != "req-to-worker" and re.fullmatch(r"[0-9a-f]{32}", own)


def test_production_logs_json_lines_with_the_request_id():
    probe = (
        "import logging; from config import tracing; tracing.bind('req-json'); "
        "logging.getLogger('parkmarket.probe').warning('hello %s', 'there')"
    )
    res = _manage("shell", "-c", probe, SECRET_KEY="x" * 60, ALLOWED_HOSTS="h", PAYMENT_WEBHOOK_SECRET="w" * 40)
    assert res.returncode == 0, res.stderr
    line = json.loads([ln for ln in res.stderr.splitlines() if "hello there" in ln][-1])
    assert line["message"] == "hello there" and line["level"] == "WARNING" and line["logger"] == "parkmarket.probe"
    assert line["request_id"] == "req-json" and "time" in line
