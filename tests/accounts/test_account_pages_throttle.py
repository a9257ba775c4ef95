"""The login and register pages share the API's auth throttle: the pages are no way around it."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.throttling import ScopedRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})


def test_login_page_guessing_is_throttled(client, three_per_minute):
    get_user_model().objects.create_user("victim", password="Parking-rocks-9")
    codes = [
        client.post("/accounts/login/", {"username": "victim", "password": f"guess-{i}"}).status_code for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    # Throttled means not even tried: the right password is refused too until the window passes.
    res = client.post("/accounts/login/", {"username": "victim", "password": "Parking-rocks-9"})
    assert res.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Retry-After" in res.headers
    assert "Too many attempts" in res.content.decode()


def test_login_page_and_token_api_share_one_budget(client, api, three_per_minute):
    for _ in range(3):
        api.post("/api/v1/auth/token", {"username": "x", "password": "y"}, format="json")
    assert client.post("/accounts/login/", {"username": "x", "password": "y"}).status_code == 429


def test_register_page_is_throttled(client, three_per_minute):
    for i in range(3):
        res = client.post(
            "/accounts/register/",
            {"username": f"new{i}", "password1": "Parking-rocks-9", "password2": "Parking-rocks-9"},
        )
        assert res.status_code == 302
        client.logout()
    res = client.post(
        "/accounts/register/", {"username": "new9", "password1": "Parking-rocks-9", "password2": "Parking-rocks-9"}
    )
    assert res.status_code == 429
    assert not get_user_model().objects.filter(username="new9").exists()


def test_pages_still_render_on_get_when_throttled(client, three_per_minute):
    for _ in range(4):
        client.post("/accounts/login/", {"username": "x", "password": "y"})
    assert client.get("/accounts/login/").status_code == 200


def test_register_page_username_taken_between_check_and_save_is_a_form_error(client, monkeypatch):
    """Two sign-ups racing for one name: the loser's check passed before the winner's row existed.
    The database refuses the second row; the page shows a form error, not a 500."""
    from accounts.views import RegisterForm

    get_user_model().objects.create_user("racer", password="Parking-rocks-9")
    # Both of the form's checks ran before the winner's row existed.
    monkeypatch.setattr(RegisterForm, "clean_username", lambda self: self.cleaned_data["username"])
    monkeypatch.setattr(RegisterForm, "validate_unique", lambda self: None)
    res = client.post(
        "/accounts/register/", {"username": "racer", "password1": "Parking-rocks-9", "password2": "Parking-rocks-9"}
    )
    assert res.status_code == 200
    assert "This username is taken." in res.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_page_works_while_the_cache_is_down(client, settings):
    """The throttle's counters live in the cache; a Redis outage must not lock everybody out of
    the pages (sessions are in the database): the throttle lets the request through and logs."""
    get_user_model().objects.create_user("steady", password="Parking-rocks-9")
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    res = client.post("/accounts/login/", {"username": "steady", "password": "Parking-rocks-9"})
    assert res.status_code == 302
    assert "_auth_user_id" in client.session


def test_admin_login_guessing_is_throttled(client, three_per_minute):
    get_user_model().objects.create_superuser("boss", password="Parking-rocks-9")
    codes = [client.post("/admin/login/", {"username": "boss", "password": f"guess-{i}"}).status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]
    res = client.post("/admin/login/", {"username": "boss", "password": "Parking-rocks-9"})
    assert res.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "Too many attempts" in res.content.decode()
    assert client.get("/admin/login/").status_code == 200
