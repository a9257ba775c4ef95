"""The purchase endpoint's token lookup, shared by every process through Redis (accounts/tokens.py,
SECKILL_AUTH_CACHE_SECONDS): a token issued or read once is found without the database by every
process; a token deleted, a password changed or a user deactivated through the application stops
buying at once; a change made by SQL behind the application's back waits for the entry to expire."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import tokens
from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _buy(client, voucher):
    return client.post(f"/api/v1/vouchers/{voucher.pk}/purchase", {}, format="json")


def _token_reads(queries) -> int:
    return sum("authtoken_token" in q["sql"] for q in queries.captured_queries)


@pytest.fixture
def on_sale(redis_gate):
    return SeckillVoucherFactory(stock=100, per_user_limit=100)


def test_a_token_read_once_is_found_in_redis_afterwards(on_sale, redis_client):
    user = UserFactory()
    client = auth_client(user)
    with CaptureQueriesContext(connection) as first:
        assert _buy(client, on_sale).status_code == 202
    assert _token_reads(first) == 1
    entry = redis_client.get(tokens.entry_key(user.auth_token.key))
    assert entry is not None and entry.startswith(f"{user.pk}:")
    assert 0 < redis_client.ttl(tokens.entry_key(user.auth_token.key)) <= 900
    tokens_seen_elsewhere = APIClient()  # another client, as another process would be: same lookup
    tokens_seen_elsewhere.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    with CaptureQueriesContext(connection) as second:
        assert _buy(tokens_seen_elsewhere, on_sale).status_code == 202
    assert _token_reads(second) == 0


def test_a_token_issued_by_the_api_is_found_without_the_database(on_sale, api):
    res = api.post("/api/v1/auth/register", {"username": "nova", "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 201
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {res.json()['token']}")
    with CaptureQueriesContext(connection) as queries:
        assert _buy(client, on_sale).status_code == 202
    assert _token_reads(queries) == 0
    token = api.post("/api/v1/auth/token", {"username": "nova", "password": "Parking-rocks-9"}, format="json")
    assert token.json()["token"] == res.json()["token"]


def test_customers_made_in_bulk_are_in_the_lookup(on_sale, redis_client):
    from django.db import transaction

    from accounts.services import customers_create_bulk

    redis_client.script_flush()  # a Redis that never saw the script (new or restarted)
    with transaction.atomic():
        made = customers_create_bulk(usernames=["bulk1", "bulk2"], password="Parking-rocks-9")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {made[1][1]}")
    with CaptureQueriesContext(connection) as queries:
        assert _buy(client, on_sale).status_code == 202
    assert _token_reads(queries) == 0


def test_a_deleted_token_stops_buying_at_once(on_sale, redis_client):
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, on_sale).status_code == 202
    key = user.auth_token.key
    Token.objects.filter(user=user).delete()
    assert redis_client.get(tokens.entry_key(key)) is None
    assert _buy(client, on_sale).status_code == 401


def test_a_deactivated_customer_stops_buying_at_once(on_sale):
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, on_sale).status_code == 202
    user.is_active = False
    user.save()
    assert _buy(client, on_sale).status_code == 401


def test_a_changed_password_stops_the_token_at_once(on_sale):
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, on_sale).status_code == 202
    user.set_password("A-new-parking-pass-7")
    user.save()
    assert _buy(client, on_sale).status_code == 401


def test_a_read_that_raced_with_the_deletion_cannot_write_the_entry_back(on_sale, redis_client):
    user = UserFactory()
    client = auth_client(user)
    key = user.auth_token.key
    Token.objects.filter(user=user).delete()
    tokens.token_remember(key, user)  # what a request that read the row just before would write
    assert redis_client.get(tokens.entry_key(key)) is None
    assert _buy(client, on_sale).status_code == 401


def test_a_deactivation_by_sql_waits_for_the_entry_to_expire(on_sale, redis_client):
    """SQL that bypasses the application fires no signal: the documented bound applies."""
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, on_sale).status_code == 202
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal
    assert _buy(client, on_sale).status_code == 202  # still in the lookup, for at most its TTL
    redis_client.delete(tokens.entry_key(user.auth_token.key))  # what the expiry does
    assert _buy(client, on_sale).status_code == 401


def test_the_lookup_can_be_turned_off(on_sale, settings):
    settings.SECKILL_AUTH_CACHE_SECONDS = 0
    client = auth_client(UserFactory())
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert _buy(client, on_sale).status_code == 202
        assert _token_reads(queries) == 1
