"""The purchase endpoint's token memory (SECKILL_AUTH_CACHE_SECONDS): a token deleted or a user
deactivated stops buying at once in the process that made the change, and everywhere else once
the memory's time is up."""

import pytest
from rest_framework.authtoken.models import Token

from seckill import auth
from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _buy(client, voucher):
    return client.post(f"/api/v1/vouchers/{voucher.pk}/purchase", {}, format="json")


@pytest.fixture
def sold_out(db_gate):
    return SeckillVoucherFactory(stock=0)


def test_a_deleted_token_stops_buying_at_once(sold_out):
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, sold_out).status_code == 409  # authenticated (and remembered)
    Token.objects.filter(user=user).delete()
    assert _buy(client, sold_out).status_code == 401


def test_a_deactivated_customer_stops_buying_at_once(sold_out):
    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, sold_out).status_code == 409
    user.is_active = False
    user.save()
    assert _buy(client, sold_out).status_code == 401


def test_a_change_made_elsewhere_is_seen_once_the_memory_expires(sold_out, monkeypatch):
    """Another process's change fires no signal here: the documented bound applies."""
    import time

    from django.contrib.auth import get_user_model

    user = UserFactory()
    client = auth_client(user)
    assert _buy(client, sold_out).status_code == 409
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)  # no signal, like elsewhere
    assert _buy(client, sold_out).status_code == 409  # still remembered: at most the TTL
    later = time.monotonic() + 31
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    assert _buy(client, sold_out).status_code == 401
