"""The Idempotency-Key mechanism (config/api.py), exercised through a small view of its own."""

import threading

import pytest
from django.db import connection
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from config.errors import DomainError
from tests.conftest import auth_client
from tests.factories import UserFactory

CALLS: list[dict] = []
GATE = threading.Event()


class CountingView(APIView):
    @idempotent
    def post(self, request):
        if threading.current_thread().name == "first":
            GATE.wait(timeout=10)
        CALLS.append(dict(request.data))
        if request.data.get("fail"):
            raise DomainError("sold_out")
        if request.data.get("echo"):
            raise DomainError("validation_error", f"{request.data['echo']!s} is not valid", status=400)
        return Response({"n": len(CALLS)}, status=201)


urlpatterns = [path("api/v1/count", CountingView.as_view())]

pytestmark = [pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    GATE.clear()


@pytest.mark.django_db
def test_retry_with_same_key_replays_first_answer():
    client = auth_client(UserFactory())
    first = client.post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() == {"n": 1}
    assert len(CALLS) == 1
    other = client.post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert other.json() == {"n": 2}


@pytest.mark.django_db
def test_errors_are_replayed_too():
    client = auth_client(UserFactory())
    first = client.post("/api/v1/count", {"fail": True}, format="json", HTTP_IDEMPOTENCY_KEY="e")
    again = client.post("/api/v1/count", {"fail": True}, format="json", HTTP_IDEMPOTENCY_KEY="e")
    assert first.status_code == again.status_code == 409
    assert again.json()["error"]["code"] == "sold_out"
    assert len(CALLS) == 1


@pytest.mark.django_db
def test_same_key_other_body_is_conflict_and_keys_are_per_user():
    user = UserFactory()
    client = auth_client(user)
    client.post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    res = client.post("/api/v1/count", {"x": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert res.status_code == 409 and res.json()["error"]["code"] == "idempotency_conflict"
    other = auth_client(UserFactory())
    assert other.post("/api/v1/count", {"x": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    assert len(CALLS) == 2


@pytest.mark.django_db(transaction=True)
def test_parallel_retries_execute_once():
    """The second request arrives while the first is still running: it is refused with
    idempotency_conflict, the first completes, and the work ran once."""
    from accounts.models import IdempotencyRecord

    user = UserFactory()
    results: dict[str, int] = {}

    def fire():
        try:
            res = auth_client(user).post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="same")
            results[threading.current_thread().name] = res.status_code
        finally:
            connection.close()

    first = threading.Thread(target=fire, name="first")
    first.start()
    # Wait until the first request has claimed the key, then send the retry.
    for _ in range(1000):
        if IdempotencyRecord.objects.filter(user=user, key="same").exists():
            break
        threading.Event().wait(0.01)
    second = threading.Thread(target=fire, name="second")
    second.start()
    second.join(timeout=20)
    GATE.set()
    first.join(timeout=20)
    assert results == {"first": 201, "second": 409}
    assert len(CALLS) == 1
    replay = auth_client(user).post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert replay.status_code == 201 and replay.json() == {"n": 1}


@pytest.mark.django_db
def test_an_answer_quoting_a_nul_character_is_stored_and_replayed():
    client = auth_client(UserFactory())
    first = client.post("/api/v1/count", {"echo": "a\x00b"}, format="json", HTTP_IDEMPOTENCY_KEY="nul")
    again = client.post("/api/v1/count", {"echo": "a\x00b"}, format="json", HTTP_IDEMPOTENCY_KEY="nul")
    assert first.status_code == again.status_code == 400
    assert again.json()["error"]["message"] == "a\ufffdb is not valid"
    assert len(CALLS) == 1


@pytest.mark.django_db
def test_a_finished_request_keeps_its_answer_when_the_database_drops_before_it_is_stored(monkeypatch):
    """The work is done; storing the answer fails (PostgreSQL went away): the client still gets
    the answer, and a retry with the key is told the request is being processed, never runs twice."""
    from django.db import OperationalError
    from django.db.models import QuerySet

    from accounts.models import IdempotencyRecord

    client = auth_client(UserFactory())
    real_update = QuerySet.update

    def update(self, **kwargs):
        if self.model is IdempotencyRecord and "status_code" in kwargs:
            raise OperationalError("server closed the connection unexpectedly")
        return real_update(self, **kwargs)

    monkeypatch.setattr(QuerySet, "update", update)
    first = client.post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="drop")
    assert first.status_code == 201 and first.json() == {"n": 1}
    monkeypatch.setattr(QuerySet, "update", real_update)
    retry = client.post("/api/v1/count", {"x": 1}, format="json", HTTP_IDEMPOTENCY_KEY="drop")
    assert retry.status_code == 409 and retry.json()["error"]["code"] == "idempotency_conflict"
    assert len(CALLS) == 1
