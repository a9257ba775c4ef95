import json

import pytest

pytestmark = pytest.mark.django_db


def _assert_error(res, status, code):
    assert res.status_code == status, res.content
    assert res["Content-Type"].startswith("application/json")
    body = res.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)


def test_unknown_api_url_is_404_in_contract_shape(api):
    _assert_error(api.get("/api/v1/no/such/thing"), 404, "not_found")
    _assert_error(api.post("/api/v1/nothing-here", {}, format="json"), 404, "not_found")


def test_garbage_json_is_400_validation_error(api):
    res = api.post("/api/v1/auth/register", data="{not json", content_type="application/json")
    _assert_error(res, 400, "validation_error")


def test_missing_fields_are_listed_in_details(api):
    res = api.post("/api/v1/auth/register", {}, format="json")
    _assert_error(res, 400, "validation_error")
    assert set(res.json()["error"]["details"]) == {"username", "password"}


def test_unauthenticated_is_401(api):
    _assert_error(api.get("/api/v1/auth/me"), 401, "not_authenticated")
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    _assert_error(api.get("/api/v1/auth/me"), 401, "not_authenticated")


def test_wrong_method_is_405_in_contract_shape(api):
    _assert_error(api.get("/api/v1/auth/register"), 405, "method_not_allowed")


def test_unhandled_exception_is_logged_and_answers_generic_500(api, monkeypatch, caplog):
    from accounts import api as accounts_api

    def boom(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(accounts_api, "customer_register", boom)
    res = api.post("/api/v1/auth/register", {"username": "dave", "password": "Parking-rocks-9"}, format="json")
    _assert_error(res, 500, "server_error")
    assert "database on fire" not in res.content.decode()
    assert any("unhandled error" in r.message for r in caplog.records)


def test_redis_down_during_a_purchase_is_503_and_writes_nothing(settings):
    from orders.models import Order
    from tests.conftest import auth_client
    from tests.factories import SeckillVoucherFactory, UserFactory

    voucher = SeckillVoucherFactory(stock=5)
    settings.SECKILL_GATE = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    res = auth_client(UserFactory()).post(f"/api/v1/vouchers/{voucher.pk}/purchase", {}, format="json")
    _assert_error(res, 503, "service_unavailable")
    assert res["Retry-After"] == "5"
    voucher.refresh_from_db()
    assert voucher.stock == 5 and not Order.objects.exists()


def test_oversized_json_body_is_400_not_500(api):
    # Above DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) Django refuses to read the body.
    body = '{"username": "' + "a" * 3_000_000 + '", "password": "Parking-rocks-9"}'
    res = api.post("/api/v1/auth/register", data=body, content_type="application/json")
    _assert_error(res, 400, "validation_error")


def test_form_body_with_too_many_fields_is_400_not_500(api):
    # Above DATA_UPLOAD_MAX_NUMBER_FIELDS (1000) Django refuses to parse the form.
    body = "&".join(f"f{i}=x" for i in range(1500))
    res = api.post("/api/v1/auth/register", data=body, content_type="application/x-www-form-urlencoded")
    _assert_error(res, 400, "validation_error")


def test_request_refused_before_any_view_is_in_contract_shape_under_api(client):
    # A Host outside ALLOWED_HOSTS is refused by Django itself (handler400), before DRF runs.
    res = client.get("/api/v1/auth/me", HTTP_HOST="evil.example")
    _assert_error(res, 400, "validation_error")
    assert "text/html" in client.get("/", HTTP_HOST="evil.example")["Content-Type"]


def test_permission_denied_outside_drf_is_in_contract_shape_under_api(rf):
    from config import handlers

    res = handlers.permission_denied(rf.get("/api/v1/anything"))
    res.json = lambda: json.loads(res.content)
    _assert_error(res, 403, "permission_denied")
    assert handlers.permission_denied(rf.get("/somewhere")).status_code == 403


@pytest.mark.parametrize("body", ["{not json", "[" * 100_000, '{"a": NaN}'], ids=["garbage", "deep", "nan"])
def test_unparsable_body_details_are_lists_of_messages_like_every_validation_error(api, body):
    res = api.post("/api/v1/auth/register", data=body, content_type="application/json")
    _assert_error(res, 400, "validation_error")
    messages = res.json()["error"]["details"]["non_field_errors"]
    assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)


@pytest.mark.parametrize(
    "error",
    [
        "django.db.OperationalError",
        "django.db.InterfaceError",
        "psycopg_pool.PoolTimeout",
    ],
)
def test_database_outage_in_the_api_is_503_not_500(api, monkeypatch, error):
    """PostgreSQL down or restarting (or a pool with no connection to give) is a temporary outage."""
    import importlib

    from accounts import api as accounts_api

    module, _, name = error.rpartition(".")
    exc_type = getattr(importlib.import_module(module), name)

    def down(**kwargs):
        raise exc_type("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr(accounts_api, "customer_register", down)
    res = api.post("/api/v1/auth/register", {"username": "dave", "password": "Parking-rocks-9"}, format="json")
    _assert_error(res, 503, "service_unavailable")
    assert res["Retry-After"] == "5"


def test_database_outage_outside_drf_is_503_for_the_api_and_for_pages(monkeypatch, client):
    """An outage raised before DRF's handler can see it (middleware, a page) goes through Django's
    500 handler, which answers 503 when the cause is an outage: JSON under /api/, a page elsewhere."""
    from django.db import OperationalError

    from config import middleware

    def down(self, request):
        raise OperationalError("the database system is starting up")

    monkeypatch.setattr(middleware.DomainNotFoundMiddleware, "__call__", down)
    client.raise_request_exception = False
    api_res = client.get("/api/v1/vouchers")
    _assert_error(api_res, 503, "service_unavailable")
    page = client.get("/")
    assert page.status_code == 503 and page["Retry-After"] == "5"
    assert b"briefly unavailable" in page.content


def test_a_bug_outside_drf_is_still_a_500(monkeypatch, client):
    from config import middleware

    def bug(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(middleware.DomainNotFoundMiddleware, "__call__", bug)
    client.raise_request_exception = False
    assert client.get("/").status_code == 500
    _assert_error(client.get("/api/v1/vouchers"), 500, "server_error")
