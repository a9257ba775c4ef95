"""Requests refused before any view: a NUL byte anywhere in the query or the path is a 400 (JSON
under /api/, a page elsewhere), and anything under /api/v1/ that matches no route is the contract's
404 whatever the method and whatever the path holds."""

import pytest
from django.urls import reverse

from tests.conftest import auth_client
from tests.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db


def _assert_error(res, status, code):
    assert res.status_code == status, res.content
    assert res["Content-Type"].startswith("application/json")
    assert res.json()["error"]["code"] == code


def test_nul_in_an_api_filter_is_400_not_500():
    client = auth_client(OperatorFactory().user)
    res = client.get("/api/v1/operator/vouchers?status=%00")
    _assert_error(res, 400, "validation_error")
    assert "NUL" in res.json()["error"]["message"]


def test_nul_in_a_parameter_name_or_the_path_is_400(api):
    _assert_error(api.get("/api/v1/vouchers?%00=1"), 400, "validation_error")
    _assert_error(api.get("/api/v1/vouchers/1%00"), 400, "validation_error")


@pytest.mark.parametrize("query", ["kind=%00", "status=%00", "q=%00", "o=%00", "status=a%00b"])
def test_nul_in_an_admin_changelist_filter_is_400_not_500(client, query):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    res = client.get(reverse("admin:coupons_voucher_changelist") + "?" + query)
    assert res.status_code == 400
    assert res["Content-Type"].startswith("text/html")
    assert b"NUL" in res.content


def test_an_ordinary_admin_filter_still_works(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:coupons_voucher_changelist") + "?kind__exact=seckill").status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/orders/not-a-uuid/pay", "/api/v1/vouchers/abc/purchase", "/api/v1/nothing"])
def test_writes_to_an_unknown_api_path_are_json_404_even_with_csrf_checks(method, path):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)  # like a browser or any client without a token
    _assert_error(getattr(client, method)(path, {}, format="json"), 404, "not_found")


def test_a_session_client_gets_json_404_on_unknown_api_writes(client):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(UserFactory())
    _assert_error(browser.post("/api/v1/vouchers/abc/purchase", {}), 404, "not_found")


@pytest.mark.parametrize("path", ["/api/v1/x%0A", "/api/v1/%0A/vouchers", "/api/v1/a%0D%0Ab"])
def test_a_line_break_in_an_api_path_stays_json_404_with_debug(api, settings, path):
    settings.DEBUG = True  # DEBUG would list every URL pattern on a path no route matches
    res = api.get(path)
    _assert_error(res, 404, "not_found")
    assert b"URLconf" not in res.content
