"""Changing a password or deactivating a user revokes their API tokens everywhere at once: on every
endpoint, and on the purchase endpoint of *another process*, which finds tokens in the lookup
shared through Redis (accounts/tokens.py) without reading the database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import auth_client
from tests.factories import SeckillVoucherFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]

# Another web process: the same settings, database and Redis as this test; it buys on request.
OTHER_PROCESS = """
import json, os, sys
import django
django.setup()
from django.db import connection
from django.test.utils import CaptureQueriesContext, setup_test_environment
from rest_framework.test import APIClient
setup_test_environment()
print("ready", flush=True)
for line in sys.stdin:
    key, path = line.split()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + key)
    with CaptureQueriesContext(connection) as queries:
        res = client.post(path, {}, format="json")
    code = res.json().get("error", {}).get("code") if res.status_code >= 400 else None
    token_reads = sum("authtoken_token" in q["sql"] for q in queries.captured_queries)
    print(json.dumps({"status": res.status_code, "code": code, "token_reads": token_reads}), flush=True)
"""


class OtherProcess:
    def __init__(self):
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "SECKILL_GATE": "redis",
            "SECKILL_AUTH_CACHE_SECONDS": "900",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", OTHER_PROCESS],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready", self.proc.stderr.read()

    def buy(self, key: str, voucher) -> dict:
        self.proc.stdin.write(f"{key} /api/v1/vouchers/{voucher.pk}/purchase\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def other_process():
    proc = OtherProcess()
    yield proc
    proc.close()


@pytest.fixture
def sold_out(settings):
    settings.SECKILL_GATE = "redis"
    return SeckillVoucherFactory(stock=0)


@pytest.fixture
def on_sale(settings):
    settings.SECKILL_GATE = "redis"
    return SeckillVoucherFactory(stock=100, per_user_limit=100)


def _token(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


def test_a_password_change_revokes_the_token_in_another_process(other_process, on_sale):
    user = UserFactory()
    key = _token(user)
    assert other_process.buy(key, on_sale) == {"status": 202, "code": None, "token_reads": 1}
    found = other_process.buy(key, on_sale)
    assert found == {"status": 202, "code": None, "token_reads": 0}  # from the shared lookup

    user.set_password("A-new-parking-pass-7")
    user.save()

    assert other_process.buy(key, on_sale) == {"status": 401, "code": "not_authenticated", "token_reads": 1}


def test_a_token_this_process_read_is_found_by_another_without_the_database(other_process, on_sale):
    user = UserFactory()
    assert auth_client(user).post(f"/api/v1/vouchers/{on_sale.pk}/purchase", {}, format="json").status_code == 202
    assert other_process.buy(user.auth_token.key, on_sale) == {"status": 202, "code": None, "token_reads": 0}


def test_deactivation_revokes_the_token_in_another_process(other_process, on_sale):
    user = UserFactory()
    key = _token(user)
    assert other_process.buy(key, on_sale)["status"] == 202
    user.is_active = False
    user.save()
    assert other_process.buy(key, on_sale)["status"] == 401


def test_a_token_deleted_elsewhere_stops_buying_here(on_sale):
    """The same from this process's side: a deletion this process's signals never saw (done by
    another process) removes the shared entry, so the next request reads the database."""
    from accounts.tokens import tokens_mark_revoked

    user = UserFactory()
    client = auth_client(user)
    assert client.post(f"/api/v1/vouchers/{on_sale.pk}/purchase", {}, format="json").status_code == 202
    key = user.auth_token.key
    # What another process's deletion leaves behind: the row gone (no signal here) and the mark.
    from rest_framework.authtoken.models import Token

    Token.objects.filter(pk=key)._raw_delete(Token.objects.db)
    tokens_mark_revoked([key])
    assert client.post(f"/api/v1/vouchers/{on_sale.pk}/purchase", {}, format="json").status_code == 401


def test_sold_out_is_answered_without_the_database_even_to_a_token_never_seen(
    other_process, sold_out, django_assert_num_queries
):
    from seckill import gate

    gate.gate_load(sold_out)  # the sale's state is in Redis (loaded when published or first bought)
    key = _token(UserFactory())
    assert other_process.buy(key, sold_out) == {"status": 409, "code": "sold_out", "token_reads": 0}
    client = auth_client(UserFactory())
    with django_assert_num_queries(0):
        res = client.post(f"/api/v1/vouchers/{sold_out.pk}/purchase", {}, format="json")
    assert res.json()["error"]["code"] == "sold_out"


def test_a_password_change_revokes_the_token_on_every_endpoint_and_a_new_one_works(api):
    user = UserFactory(username="dora")
    client = auth_client(user)
    assert client.get("/api/v1/auth/me").status_code == 200
    user.set_password("A-new-parking-pass-7")
    user.save()
    assert client.get("/api/v1/auth/me").status_code == 401
    res = api.post("/api/v1/auth/token", {"username": "dora", "password": "A-new-parking-pass-7"}, format="json")
    assert res.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {res.json()['token']}")
    assert api.get("/api/v1/auth/me").status_code == 200


def test_saving_a_user_for_other_reasons_keeps_the_token(api):
    user = UserFactory()
    client = auth_client(user)
    user.first_name = "Eva"
    user.save()
    assert client.get("/api/v1/auth/me").status_code == 200
