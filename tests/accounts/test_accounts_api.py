import pytest
from django.contrib.auth import get_user_model

from wallet.models import Wallet

pytestmark = pytest.mark.django_db


def test_register_returns_user_and_working_token(api):
    res = api.post("/api/v1/auth/register", {"username": "alice", "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert set(body) == {"id", "username", "token"}
    assert body["username"] == "alice"
    assert Wallet.objects.filter(user_id=body["id"], balance=0).exists()
    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.get("/api/v1/schema/").status_code == 200


@pytest.mark.parametrize(
    "password", ["short1!", "password123", "12345678901", "alice-smith"], ids=["short", "common", "numeric", "similar"]
)
def test_register_rejects_weak_passwords(api, password):
    res = api.post("/api/v1/auth/register", {"username": "alice-smith", "password": password}, format="json")
    assert res.status_code == 400
    err = res.json()["error"]
    assert err["code"] == "validation_error"
    assert "password" in err["details"]
    assert not get_user_model().objects.filter(username="alice-smith").exists()


def test_register_rejects_taken_username_case_insensitively(api):
    get_user_model().objects.create_user("Bob", password="x")
    res = api.post("/api/v1/auth/register", {"username": "bob", "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 400
    assert res.json()["error"]["details"]["username"]


def test_token_for_good_and_bad_credentials(api):
    get_user_model().objects.create_user("carol", password="Parking-rocks-9")
    ok = api.post("/api/v1/auth/token", {"username": "carol", "password": "Parking-rocks-9"}, format="json")
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40
    again = api.post("/api/v1/auth/token", {"username": "carol", "password": "Parking-rocks-9"}, format="json")
    assert again.json()["token"] == ok.json()["token"]
    bad = api.post("/api/v1/auth/token", {"username": "carol", "password": "wrong-password"}, format="json")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "not_authenticated"


def test_auth_endpoints_are_throttled(api, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    codes = [
        api.post("/api/v1/auth/token", {"username": "xyz", "password": "y"}, format="json").status_code
        for _ in range(5)
    ]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]
    res = api.post("/api/v1/auth/token", {"username": "xyz", "password": "y"}, format="json")
    assert res.json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in res.headers


def test_usernames_differing_only_in_case_cannot_both_exist(api):
    from django.db import IntegrityError, transaction

    get_user_model().objects.create_user("Bob", password="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        get_user_model().objects.create_user("bob", password="x")
    # A sign-up that lost the race to the database answers validation_error, not a 500.
    from accounts import api as accounts_api

    with pytest.raises(accounts_api.DomainError) as err:
        accounts_api.customer_register(username="BOB", password="Parking-rocks-9")
    assert err.value.code == "validation_error"
