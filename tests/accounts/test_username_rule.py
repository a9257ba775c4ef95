"""One username rule (accounts/usernames.py) wherever an account is made; the token endpoint takes
every name the rule allows."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from accounts.services import customer_register, customers_create_bulk, operator_create
from config.errors import DomainError

pytestmark = pytest.mark.django_db

REFUSED = ["ab", "a b", "semi;colon", "x" * 151, "tab\tname", "new\nline"]


@pytest.mark.parametrize("name", REFUSED)
def test_the_register_api_refuses_what_the_rule_refuses(api, name):
    res = api.post("/api/v1/auth/register", {"username": name, "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 400
    assert res.json()["error"]["details"]["username"]


@pytest.mark.parametrize("name", REFUSED)
def test_the_register_page_refuses_what_the_rule_refuses(client, name):
    res = client.post(
        "/accounts/register/", {"username": name, "password1": "Parking-rocks-9", "password2": "Parking-rocks-9"}
    )
    assert res.status_code == 200 and res.context["form"].errors["username"]
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("name", REFUSED)
def test_every_service_that_makes_accounts_refuses_it(name):
    with pytest.raises(DomainError):
        customer_register(username=name, password="Parking-rocks-9")
    with pytest.raises(DomainError):
        customers_create_bulk(usernames=[name], password="Parking-rocks-9")
    with pytest.raises(ValidationError):
        operator_create(organization_name="Org", username=name, password="Parking-rocks-9")
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("name", ["abc", "c10", "li.wei@example.com", "a+b-c_d", "张伟伟", "x" * 150])
def test_a_name_the_rule_allows_registers_and_gets_its_token(api, name):
    res = api.post("/api/v1/auth/register", {"username": name, "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 201, res.content
    res = api.post("/api/v1/auth/token", {"username": name, "password": "Parking-rocks-9"}, format="json")
    assert res.status_code == 200, res.content


def test_the_token_endpoint_does_not_judge_the_format_of_a_name(api):
    """An older account outside the rule can still log in; a wrong name is just wrong credentials."""
    get_user_model().objects.create_user("ab", password="Parking-rocks-9")
    ok = api.post("/api/v1/auth/token", {"username": "ab", "password": "Parking-rocks-9"}, format="json")
    assert ok.status_code == 200
    bad = api.post("/api/v1/auth/token", {"username": "x", "password": "nope"}, format="json")
    assert bad.status_code == 401


@pytest.mark.parametrize("name", ["ab", "x."])
def test_the_admin_user_forms_refuse_what_the_rule_refuses(client, name):
    from tests.factories import UserFactory

    root = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(root)
    res = client.post(
        "/admin/auth/user/add/",
        {"username": name, "password1": "Parking-rocks-9", "password2": "Parking-rocks-9", "usable_password": "true"},
    )
    assert res.status_code == 200 and res.context["adminform"].form.errors["username"]
    assert not get_user_model().objects.filter(username=name).exists()

    other = UserFactory(username="someone")
    res = client.post(
        f"/admin/auth/user/{other.pk}/change/",
        {"username": name, "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00", "is_active": "on"},
    )
    assert res.status_code == 200 and res.context["adminform"].form.errors["username"]
    other.refresh_from_db()
    assert other.username == "someone"


def test_the_admin_adds_a_user_whose_name_the_rule_allows(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    res = client.post(
        "/admin/auth/user/add/",
        {"username": "abc", "password1": "Parking-rocks-9", "password2": "Parking-rocks-9", "usable_password": "true"},
    )
    assert res.status_code == 302, res.context["adminform"].form.errors if res.context else res
    assert get_user_model().objects.filter(username="abc").exists()
