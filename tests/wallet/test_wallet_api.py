import json

import pytest

from tests.conftest import auth_client
from tests.orders.helpers import assert_ledger_matches_balances, balance, customer
from wallet.models import LedgerEntry, TopUp, Wallet
from wallet.payments import SIGNATURE_HEADER, sign_webhook

pytestmark = pytest.mark.django_db


def test_wallet_balance_and_sandbox_topup():
    u = customer(balance=100)
    client = auth_client(u)
    assert client.get("/api/v1/wallet").json()["balance"] == 100
    res = client.post("/api/v1/wallet/topups", {"amount": 2500}, format="json")
    assert res.status_code == 201, res.content
    body = res.json()
    assert body["balance"] == 2600
    assert body["topup"]["status"] == "succeeded" and body["topup"]["provider"] == "sandbox"
    topup = TopUp.objects.get(user=u)
    assert topup.ledger_entry.amount == 2500 and topup.ledger_entry.kind == "topup"
    assert client.get("/api/v1/wallet").json()["balance"] == 2600
    assert_ledger_matches_balances()


def test_entries_are_newest_first_one_per_movement(django_assert_max_num_queries):
    u = customer(balance=100)
    client = auth_client(u)
    for amount in (1, 2, 3):
        client.post("/api/v1/wallet/topups", {"amount": amount}, format="json")
    with django_assert_max_num_queries(3):
        res = client.get("/api/v1/wallet/entries")
    entries = res.json()
    assert [e["amount"] for e in entries] == [3, 2, 1, 100]
    assert [e["balance_after"] for e in entries] == [106, 103, 101, 100]
    assert {"id", "kind", "amount", "balance_after", "created_at"} <= set(entries[0])
    page = client.get(f"/api/v1/wallet/entries?limit=2&before={entries[1]['id']}").json()
    assert [e["amount"] for e in page] == [1, 100]


def test_entries_show_only_my_wallet():
    me, other = customer(balance=10), customer(balance=20)
    res = auth_client(me).get("/api/v1/wallet/entries")
    assert [e["amount"] for e in res.json()] == [10]
    assert other  # the other wallet has an entry that must not show


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=100000", "before=-3", "before=x"])
def test_entries_with_bad_query_are_400(query):
    res = auth_client(customer()).get(f"/api/v1/wallet/entries?{query}")
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"


BAD_AMOUNTS = [-100, 0, 12.5, "100", "abc", None, True, 10**15, [100], {"v": 1}]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_topup_with_a_bad_amount_is_400_and_changes_nothing(amount):
    u = customer(balance=500)
    res = auth_client(u).post("/api/v1/wallet/topups", {"amount": amount}, format="json")
    assert res.status_code == 400, res.content
    err = res.json()["error"]
    assert err["code"] == "validation_error" and "amount" in err["details"]
    assert balance(u) == 500
    assert not TopUp.objects.exists()
    assert LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    "raw,ctype",
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ('"x"', "application/json"),
        ("", "application/json"),
        ("null", "application/json"),
        ("amount=100", "application/x-www-form-urlencoded"),
    ],
)
def test_topup_with_garbage_body_is_400(raw, ctype):
    u = customer(balance=500)
    res = auth_client(u).post("/api/v1/wallet/topups", raw, content_type=ctype)
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    assert balance(u) == 500 and not TopUp.objects.exists()


DEEP = "[" * 5000 + "]" * 5000  # nesting the JSON decoder cannot follow (RecursionError)


@pytest.mark.parametrize("url", ["/api/v1/wallet/topups", "/api/v1/auth/register", "/api/v1/auth/token"])
def test_json_nested_too_deeply_is_400_not_a_500(api, url):
    u = customer(balance=500)
    client = auth_client(u) if "wallet" in url else api
    res = client.post(url, DEEP, content_type="application/json")
    assert res.status_code == 400, res.content
    assert res.json()["error"]["code"] == "validation_error"
    res = client.post(url, DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep")
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    assert balance(u) == 500 and not TopUp.objects.exists()


def test_webhook_with_json_nested_too_deeply_is_400(api):
    u = customer()
    pending_topup(u)
    res = notify(api, None, raw=DEEP.encode())
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    assert balance(u) == 0


def test_topup_in_an_unsupported_media_type_is_refused_with_a_code():
    u = customer(balance=500)
    res = auth_client(u).post("/api/v1/wallet/topups", "<xml/>", content_type="text/plain")
    assert res.status_code == 415 and res.json()["error"]["code"] == "validation_error"
    assert balance(u) == 500 and not TopUp.objects.exists()


def test_topup_with_an_unknown_provider_is_400():
    u = customer()
    res = auth_client(u).post("/api/v1/wallet/topups", {"amount": 100, "provider": "nope"}, format="json")
    assert res.status_code == 400 and "provider" in res.json()["error"]["details"]


def test_topup_idempotency_key_replays_and_conflicts():
    u = customer()
    client = auth_client(u)
    first = client.post("/api/v1/wallet/topups", {"amount": 700}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post("/api/v1/wallet/topups", {"amount": 700}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert balance(u) == 700 and TopUp.objects.count() == 1
    clash = client.post("/api/v1/wallet/topups", {"amount": 800}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "idempotency_conflict"
    assert balance(u) == 700


def test_topup_needs_a_token(api):
    assert api.post("/api/v1/wallet/topups", {"amount": 1}, format="json").status_code == 401
    assert api.get("/api/v1/wallet").status_code == 401


# --- webhook -------------------------------------------------------------------------------------


def pending_topup(user, amount=900) -> TopUp:
    res = auth_client(user).post(
        "/api/v1/wallet/topups", {"amount": amount, "provider": "sandbox_async"}, format="json"
    )
    assert res.status_code == 201 and res.json()["topup"]["status"] == "pending"
    return TopUp.objects.get(pk=res.json()["topup"]["id"])


def notify(api, payload, *, provider="sandbox_async", signature=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    sig = signature if signature is not None else sign_webhook(body)
    return api.post(
        f"/api/v1/wallet/webhooks/{provider}",
        body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sig},
    )


def test_webhook_credits_once_however_often_it_is_repeated(api):
    u = customer()
    t = pending_topup(u)
    assert balance(u) == 0
    payload = {"txn_id": t.provider_txn_id, "status": "succeeded", "amount": 900}
    for _ in range(3):
        res = notify(api, payload)
        assert res.status_code == 200 and res.json()["status"] == "succeeded"
    assert balance(u) == 900
    assert LedgerEntry.objects.filter(kind="topup").count() == 1
    assert_ledger_matches_balances()


def test_webhook_with_a_bad_signature_is_refused(api):
    u = customer()
    t = pending_topup(u)
    payload = {"txn_id": t.provider_txn_id, "status": "succeeded"}
    for sig in ("0" * 64, "", "not-hex"):
        res = notify(api, payload, signature=sig)
        assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"
    # signed for another body
    res = api.post(
        "/api/v1/wallet/webhooks/sandbox_async",
        json.dumps(payload),
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign_webhook(b"{}")},
    )
    assert res.status_code == 403
    assert balance(u) == 0
    t.refresh_from_db()
    assert t.status == "pending"


@pytest.mark.parametrize("sig", ["é" * 64, "\u00ff" + "0" * 63, "ü"])
def test_webhook_with_a_non_ascii_signature_is_refused_not_a_500(api, sig):
    """A header value outside ASCII (latin-1 bytes on the wire) is a wrong signature, not a crash."""
    u = customer()
    t = pending_topup(u)
    res = notify(api, {"txn_id": t.provider_txn_id, "status": "succeeded"}, signature=sig)
    assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"
    assert balance(u) == 0
    t.refresh_from_db()
    assert t.status == "pending"


@pytest.mark.parametrize(
    "raw",
    [b"{garbage", b"[]", b'{"txn_id": "x"}', b'{"txn_id": "x", "status": "maybe"}', b'{"status": "succeeded"}'],
)
def test_webhook_with_bad_input_is_400(api, raw):
    u = customer()
    pending_topup(u)
    res = notify(api, None, raw=raw)
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    assert balance(u) == 0


@pytest.mark.parametrize("amount", BAD_AMOUNTS + [900.0, "900"])
def test_webhook_with_a_bad_amount_is_400_and_credits_nothing(api, amount):
    u = customer()
    t = pending_topup(u, amount=900)
    res = notify(api, {"txn_id": t.provider_txn_id, "status": "succeeded", "amount": amount})
    assert res.status_code == 400 and "amount" in res.json()["error"]["details"], res.content
    assert balance(u) == 0
    t.refresh_from_db()
    assert t.status == "pending"


def test_webhook_with_a_wrong_amount_does_not_credit(api):
    u = customer()
    t = pending_topup(u, amount=900)
    res = notify(api, {"txn_id": t.provider_txn_id, "status": "succeeded", "amount": 90000})
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"
    assert balance(u) == 0


def test_webhook_for_an_unknown_transaction_or_provider_is_404(api):
    assert notify(api, {"txn_id": "nope", "status": "succeeded"}).status_code == 404
    assert notify(api, {"txn_id": "nope", "status": "succeeded"}, provider="paypalish").status_code == 404


def test_webhook_failure_marks_the_topup_failed_and_a_late_success_cannot_credit(api):
    u = customer()
    t = pending_topup(u)
    res = notify(api, {"txn_id": t.provider_txn_id, "status": "failed", "reason": "card declined"})
    assert res.status_code == 200 and res.json()["status"] == "failed"
    late = notify(api, {"txn_id": t.provider_txn_id, "status": "succeeded"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "invalid_state"
    assert balance(u) == 0


def test_webhook_credit_fires_the_wallet_credited_signal_after_commit(api, django_capture_on_commit_callbacks):
    from wallet.signals import wallet_credited

    received = []

    def listener(sender, **kwargs):
        received.append(kwargs)

    wallet_credited.connect(listener)
    try:
        u = customer()
        t = pending_topup(u)
        with django_capture_on_commit_callbacks(execute=True):
            notify(api, {"txn_id": t.provider_txn_id, "status": "succeeded"})
    finally:
        wallet_credited.disconnect(listener)
    assert [(r["user_id"], r["amount"], r["kind"]) for r in received] == [(u.pk, 900, "topup")]


def test_topup_reference_starts_one_charge_per_customer():
    from wallet.services import topup_start

    a, b = customer(), customer()
    first = topup_start(user=a, amount=500, reference="r1")
    assert topup_start(user=a, amount=500, reference="r1").pk == first.pk
    assert topup_start(user=b, amount=500, reference="r1").pk != first.pk  # references are per customer
    assert balance(a) == 500 and balance(b) == 500
    from config.errors import DomainError

    with pytest.raises(DomainError) as err:
        topup_start(user=a, amount=600, reference="r1")
    assert err.value.code == "idempotency_conflict"
    assert balance(a) == 500


def test_a_provider_this_deployment_does_not_enable_is_refused(api, settings):
    settings.PAYMENT_PROVIDERS = ["sandbox_async"]
    user = customer(balance=0)
    res = auth_client(user).post("/api/v1/wallet/topups", {"amount": 500, "provider": "sandbox"}, format="json")
    assert res.status_code == 400
    assert res.json()["error"]["details"]["provider"]
    assert balance(user) == 0 and not TopUp.objects.filter(user=user).exists()
    settings.PAYMENT_PROVIDERS = []
    body = json.dumps({"txn_id": "x", "status": "succeeded"}).encode()
    res = api.post(
        "/api/v1/wallet/webhooks/sandbox_async",
        data=body,
        content_type="application/json",
        **{f"HTTP_{SIGNATURE_HEADER.upper().replace('-', '_')}": sign_webhook(body)},
    )
    assert res.status_code == 404


def test_wallet_updated_at_moves_with_the_balance():
    user = customer(balance=0)
    client = auth_client(user)
    client.post("/api/v1/wallet/topups", {"amount": 300}, format="json")
    before = client.get("/api/v1/wallet").json()["updated_at"]
    client.post("/api/v1/wallet/topups", {"amount": 700}, format="json")
    after = client.get("/api/v1/wallet").json()
    assert after["balance"] == 1000
    assert after["updated_at"] > before


def test_reading_a_wallet_never_creates_it():
    """A GET is a read: a customer without a wallet reads an empty one, and no row appears."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username="no-wallet-yet", password="x")
    client = auth_client(user)
    assert client.get("/api/v1/wallet").json() == {"balance": 0, "updated_at": None}
    assert client.get("/wallet/").status_code in (200, 302)
    assert not Wallet.objects.filter(user=user).exists()


def test_registration_opens_the_wallet_in_the_same_transaction(api):
    res = api.post("/api/v1/auth/register", {"username": "fresh-driver", "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 201
    assert Wallet.objects.filter(user_id=res.json()["id"], balance=0).exists()


def test_old_idempotency_answers_are_purged_and_recent_ones_kept():
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import IdempotencyRecord
    from accounts.tasks import purge_idempotency_records

    user = customer()
    old = IdempotencyRecord.objects.create(user=user, key="old", fingerprint="f", status_code=201)
    IdempotencyRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    IdempotencyRecord.objects.create(user=user, key="new", fingerprint="f", status_code=201)
    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
