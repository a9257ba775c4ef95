import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from accounts.models import Operator, Organization
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db


def test_create_operator_creates_org_once_and_operators(capsys):
    call_command("create_operator", organization="Harbor Parking", username="harbor1", password="Sturdy-pass-77")
    call_command("create_operator", organization="Harbor Parking", username="harbor2", password="Sturdy-pass-77")
    assert Organization.objects.filter(name="Harbor Parking").count() == 1
    ops = Operator.objects.filter(organization__name="Harbor Parking")
    assert ops.count() == 2
    user = get_user_model().objects.get(username="harbor1")
    assert user.is_staff and not user.is_superuser and user.check_password("Sturdy-pass-77")
    assert Token.objects.filter(user=user).exists()
    assert "harbor2" in capsys.readouterr().out


def test_create_operator_refuses_weak_password_and_duplicates():
    with pytest.raises(CommandError):
        call_command("create_operator", organization="O", username="weak", password="123")
    assert not get_user_model().objects.filter(username="weak").exists()
    call_command("create_operator", organization="O", username="dup", password="Sturdy-pass-77")
    with pytest.raises(CommandError):
        call_command("create_operator", organization="O", username="dup", password="Sturdy-pass-77")


def test_create_customers_prints_only_username_token_lines(capsys, api):
    call_command("create_customers", count=3, prefix="load", password="Load-pass-123", balance=5000)
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["load1", "load2", "load3"]
    for line in lines:
        username, token = line.split()
        assert Token.objects.get(key=token).user.username == username
    assert set(Wallet.objects.filter(user__username__startswith="load").values_list("balance", flat=True)) == {5000}
    assert LedgerEntry.objects.filter(wallet__user__username="load2", amount=5000).count() == 1
    api.credentials(HTTP_AUTHORIZATION=f"Token {lines[0].split()[1]}")
    assert api.get("/api/v1/auth/me").json()["username"] == "load1"


def test_seed_demo_runs_once():
    call_command("seed_demo")
    counts = (Organization.objects.count(), get_user_model().objects.count())
    call_command("seed_demo")
    assert (Organization.objects.count(), get_user_model().objects.count()) == counts


def test_create_customers_refuses_a_prefix_that_makes_usernames_the_rule_refuses():
    with pytest.raises(CommandError, match=r"--prefix 'c' makes usernames such as 'c1'.*at least 3"):
        call_command("create_customers", count=3, prefix="c", password="Load-pass-123")
    with pytest.raises(CommandError, match="only letters, digits"):
        call_command("create_customers", count=1, prefix="bad name", password="Load-pass-123")
    assert not get_user_model().objects.exists()


def test_every_customer_create_customers_makes_can_get_a_token(capsys, api):
    call_command("create_customers", count=10, prefix="cu", password="Load-pass-123")
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names[0] == "cu1" and names[-1] == "cu10"
    for name in (names[0], names[-1]):
        res = api.post("/api/v1/auth/token", {"username": name, "password": "Load-pass-123"}, format="json")
        assert res.status_code == 200, res.content
