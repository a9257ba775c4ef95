"""The wallet_credited signal fires after the commit: a listener that fails must not turn a
committed credit into an error answer (a client would retry and, with a real provider, pay twice)."""

import pytest

from tests.conftest import auth_client
from tests.orders.helpers import assert_ledger_matches_balances, balance, customer
from wallet.models import TopUp
from wallet.signals import wallet_credited

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_failing_listener_does_not_fail_a_committed_topup():
    calls = []

    def broken(sender, **kwargs):
        calls.append(kwargs["amount"])
        raise RuntimeError("listener down")

    wallet_credited.connect(broken, dispatch_uid="test-broken-listener")
    try:
        u = customer()
        client = auth_client(u)
        res = client.post("/api/v1/wallet/topups", {"amount": 900}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
        assert res.status_code == 201, res.content
        again = client.post("/api/v1/wallet/topups", {"amount": 900}, format="json", HTTP_IDEMPOTENCY_KEY="t-1")
        assert again.status_code == 201 and again.json() == res.json()
    finally:
        wallet_credited.disconnect(dispatch_uid="test-broken-listener")
    assert calls == [900]
    assert balance(u) == 900 and TopUp.objects.filter(user=u).count() == 1
    assert_ledger_matches_balances()
