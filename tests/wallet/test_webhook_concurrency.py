import json
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.conftest import auth_client
from tests.orders.helpers import assert_ledger_matches_balances, balance, customer
from wallet.models import LedgerEntry, TopUp
from wallet.payments import SIGNATURE_HEADER, sign_webhook

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_webhook_repeated_in_parallel_credits_once():
    u = customer()
    res = auth_client(u).post("/api/v1/wallet/topups", {"amount": 1200, "provider": "sandbox_async"}, format="json")
    topup = TopUp.objects.get(pk=res.json()["topup"]["id"])
    body = json.dumps({"txn_id": topup.provider_txn_id, "status": "succeeded", "amount": 1200}).encode()
    sig = sign_webhook(body)
    n = 8
    barrier = threading.Barrier(n)
    statuses = []

    def deliver():
        try:
            barrier.wait()
            r = APIClient().post(
                "/api/v1/wallet/webhooks/sandbox_async",
                body,
                content_type="application/json",
                headers={SIGNATURE_HEADER: sig},
            )
            statuses.append(r.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [200] * n
    assert balance(u) == 1200
    assert LedgerEntry.objects.filter(kind="topup").count() == 1
    topup.refresh_from_db()
    assert topup.status == "succeeded"
    assert_ledger_matches_balances()
