"""Every response carries a Content-Security-Policy: scripts from our own origin only, inline ones
with the request's nonce; the pages hold no inline event handler the policy would block."""

import re
from pathlib import Path

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _policy(res) -> dict[str, list[str]]:
    header = res["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def test_pages_and_api_send_a_content_security_policy(client, api):
    for res in (client.get("/"), client.get("/accounts/login/"), api.get("/api/v1/vouchers")):
        policy = _policy(res)
        assert policy["script-src"][0] == "'self'" and "'unsafe-inline'" not in policy["script-src"]
        assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
        assert policy["default-src"] == ["'self'"]


def test_production_settings_keep_the_policy():
    from tests.config.test_settings import _manage

    probe = "from django.conf import settings; print(settings.CONTENT_SECURITY_POLICY['script-src'])"
    res = _manage("shell", "-c", probe, SECRET_KEY="x" * 60, ALLOWED_HOSTS="h", PAYMENT_WEBHOOK_SECRET="w" * 40)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "[\"'self'\"]"


def test_an_inline_script_carries_the_nonce_of_its_response(client):
    client.force_login(UserFactory())
    res = client.get("/orders/")
    assert res.status_code == 200
    nonces = set(re.findall(r'<script nonce="([^"]+)"', res.content.decode()))
    assert len(nonces) == 1
    assert f"'nonce-{nonces.pop()}'" in _policy(res)["script-src"]
    # A fresh nonce per response.
    again = re.findall(r'<script nonce="([^"]+)"', client.get("/orders/").content.decode())
    assert again and f"'nonce-{again[0]}'" not in res["Content-Security-Policy"]


def test_no_template_has_an_inline_script_without_nonce_or_an_event_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "csp_nonce" not in tag and "application/json" not in tag:
                offenders.append(f"{path.relative_to(TEMPLATES)}: {tag}")
        for handler in re.findall(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: {handler.strip()}")
        if "javascript:" in text:
            offenders.append(f"{path.relative_to(TEMPLATES)}: javascript: URL")
    assert offenders == []


def test_the_api_docs_page_loads_everything_from_our_own_origin(client):
    """Swagger UI comes from drf-spectacular-sidecar's static files: the docs work offline, under
    the same policy as every page."""
    res = client.get("/api/v1/docs/")
    assert res.status_code == 200
    html = res.content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle" in u for u in urls)
    assert all(u.startswith("/") for u in urls), urls
    assert _policy(res)["script-src"] == ["'self'"]
    assert not re.search(r"<script>\s*\S", html), "the docs page's own script is inline"
    from django.contrib.staticfiles import finders

    for url in urls:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
