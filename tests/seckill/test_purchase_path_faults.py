"""The purchase path's Redis writes when Redis refuses them: a revocation is retried in a task until
it lands; a lookup entry or a sold-out flag that cannot be written costs nothing else. A token
issued while its user was being deactivated is not cached as active, and only POST is answered
early from the sale's public state."""

import pytest
import redis
from rest_framework.authtoken.models import Token

from accounts import tokens
from seckill import gate, receivers, soldout
from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _buy(client, voucher):
    return client.post(f"/api/v1/vouchers/{voucher.pk}/purchase", {}, format="json")


def _failing(real, times: int):
    """`real`, failing with a Redis connection error the first `times` calls."""
    calls = {"n": 0}

    def wrapped(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= times:
            raise redis.ConnectionError("Redis is failing over")
        return real(*args, **kwargs)

    wrapped.calls = calls
    return wrapped


def test_a_revocation_redis_refused_is_retried_in_a_task(redis_gate, redis_client, monkeypatch):
    voucher = SeckillVoucherFactory(stock=100, per_user_limit=100)
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, voucher).status_code == 202  # the token is now in the shared lookup
    key = user.auth_token.key
    assert redis_client.get(tokens.entry_key(key)) is not None
    flaky = _failing(tokens.tokens_revoke_now, 1)
    monkeypatch.setattr(tokens, "tokens_revoke_now", flaky)
    Token.objects.filter(user=user).delete()  # the revocation: refused by Redis, then retried by a task
    assert flaky.calls["n"] == 2
    assert redis_client.get(tokens.entry_key(key)) is None
    assert redis_client.exists(f"accounts:token-revoked:{key}")
    assert _buy(client, voucher).status_code == 401


def test_the_revocation_task_asks_for_a_retry_while_redis_still_fails(monkeypatch):
    from celery.exceptions import Retry

    from accounts.tasks import tokens_revoke

    monkeypatch.setattr(tokens, "tokens_revoke_now", _failing(tokens.tokens_revoke_now, 100))
    with pytest.raises(Retry):
        tokens_revoke.apply(kwargs={"token_keys": ["abc"]}, throw=True)


def test_a_lookup_entry_redis_cannot_take_does_not_fail_the_purchase(db_gate, redis_client, monkeypatch):
    def read_only(pairs):
        raise redis.ReadOnlyError("You can't write against a read only replica.")

    monkeypatch.setattr(tokens, "tokens_remember", read_only)
    user = UserFactory()
    client = auth_client(user)
    assert redis_client.get(tokens.entry_key(user.auth_token.key)) is None  # read from the database
    res = _buy(client, SeckillVoucherFactory(stock=5))
    assert res.status_code == 201, res.content


def test_a_restock_reaches_the_gate_when_the_sold_out_flag_cannot_be_cleared(redis_gate, monkeypatch):
    voucher = SeckillVoucherFactory(stock=0)
    gate.gate_load(voucher)

    class Refusing:
        def delete(self, *keys):
            raise redis.ConnectionError("Redis is failing over")

    class GateWithRefusingClient:
        client = staticmethod(Refusing)

    monkeypatch.setattr(soldout, "gate", GateWithRefusingClient)
    receivers.on_units_added(sender=None, voucher_id=voucher.pk, quantity=3)
    assert gate.peek(voucher.pk)[1] == 3


def test_other_methods_on_a_sold_out_sale_are_405(redis_gate):
    voucher = SeckillVoucherFactory(stock=0)
    gate.gate_load(voucher)
    client = auth_client(UserFactory())
    assert _buy(client, voucher).json()["error"]["code"] == "sold_out"
    for method in (client.get, client.put, client.delete):
        res = method(f"/api/v1/vouchers/{voucher.pk}/purchase")
        assert res.status_code == 405, (method, res.status_code)


def test_a_token_issued_as_the_user_is_deactivated_is_not_cached_as_active(redis_gate, redis_client):
    """The password was checked while the user was active; the deactivation committed before the
    token's issue did: the issue must not leave an entry that buys without the database."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    user, other = UserFactory(), UserFactory()
    with transaction.atomic():
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # `user` is stale now
        issued = [(Token.objects.create(user=u).key, u) for u in (user, other)]
        tokens.tokens_issued(issued)
    assert redis_client.get(tokens.entry_key(issued[0][0])) is None
    assert redis_client.get(tokens.entry_key(issued[1][0])) is not None
