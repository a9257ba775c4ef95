"""The product's own 400/403/404/500 pages, in both languages; `make run`'s settings never show
Django's debug pages; the CSRF failure is the product's page, not Django's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _zh(client):
    client.cookies["django_language"] = "zh-hans"
    return client


def test_404_is_the_products_page_in_english_and_chinese(client):
    res = client.get("/vouchers/999999/")
    assert res.status_code == 404
    html = res.content.decode()
    assert 'data-testid="error-page"' in html and "img/logo.svg" in html
    assert "Not found" in html and "URLconf" not in html
    zh = _zh(Client()).get("/vouchers/999999/").content.decode()
    assert "未找到" in zh and "Not found" not in zh


def test_404_with_debug_on_a_page_path_is_still_not_the_url_list(client, settings):
    settings.DEBUG = False
    html = client.get("/no/such/page/").content.decode()
    assert "URLconf" not in html and "error-page" in html


def test_csrf_failure_is_the_products_403_page_in_both_languages():
    user = UserFactory(username="csrfy")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    res = client.post("/wallet/", {"amount": "10"})
    assert res.status_code == 403
    html = res.content.decode()
    assert 'data-testid="csrf-help"' in html and "CSRF verification failed" not in html
    zh = _zh(client).post("/wallet/", {"amount": "10"}).content.decode()
    assert "表单已过期" in zh


def test_403_and_400_pages_are_the_products(rf):
    from config import handlers

    assert b"error-page" in handlers.permission_denied(rf.get("/somewhere")).content
    assert b"error-page" in handlers.bad_request(rf.get("/somewhere")).content


def test_500_page_renders_without_the_database_or_the_session(rf, django_assert_num_queries):
    from config import handlers

    with django_assert_num_queries(0):
        res = handlers.server_error(rf.get("/wallet/"))
    assert res.status_code == 500 and b"error-page" in res.content


def test_an_unhandled_error_on_a_page_answers_the_500_page(client, monkeypatch):
    from coupons import views

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(views.selectors, "vouchers_on_sale", boom)
    client.raise_request_exception = False
    res = client.get("/")
    assert res.status_code == 500
    assert b"disk on fire" not in res.content and b"error-page" in res.content


def test_make_runs_settings_have_debug_off_unless_asked():
    env = {k: v for k, v in os.environ.items() if k != "DEBUG"}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    probe = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
    env["DEBUG"] = "true"
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True", out.stderr
