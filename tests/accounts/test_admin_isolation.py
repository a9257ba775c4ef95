"""An operator sees and changes only their own organization's objects in the admin."""

import pytest
from django.urls import reverse

from accounts.models import Operator
from coupons.models import Voucher
from parking.models import Lot
from tests.factories import LotFactory, OperatorFactory, OrganizationFactory, UserFactory, VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_orgs():
    a, b = OrganizationFactory(name="Alpha Parking"), OrganizationFactory(name="Beta Parking")
    op_a = OperatorFactory(organization=a, user__username="op_a")
    op_b = OperatorFactory(organization=b, user__username="op_b")
    lot_a = LotFactory(organization=a, name="Alpha Lot")
    lot_b = LotFactory(organization=b, name="Beta Lot")
    v_b = VoucherFactory(organization=b, lot=lot_b, title="Beta voucher")
    return {"a": a, "b": b, "op_a": op_a, "op_b": op_b, "lot_a": lot_a, "lot_b": lot_b, "v_b": v_b}


def test_changelist_shows_only_own_organization(client, two_orgs):
    client.force_login(two_orgs["op_a"].user)
    res = client.get(reverse("admin:parking_lot_changelist"))
    assert res.status_code == 200
    assert "Alpha Lot" in res.content.decode()
    assert "Beta Lot" not in res.content.decode()
    res = client.get(reverse("admin:coupons_voucher_changelist"))
    assert "Beta voucher" not in res.content.decode()
    res = client.get(reverse("admin:accounts_organization_changelist"))
    assert "Alpha Parking" in res.content.decode() and "Beta Parking" not in res.content.decode()


@pytest.mark.parametrize("name", ["admin:parking_lot_change", "admin:parking_lot_delete", "admin:parking_lot_history"])
def test_other_organizations_object_cannot_be_opened(client, two_orgs, name):
    client.force_login(two_orgs["op_a"].user)
    res = client.get(reverse(name, args=[two_orgs["lot_b"].pk]))
    # The admin treats an object outside the queryset as missing: redirect with "doesn't exist".
    assert res.status_code == 302
    assert res.url == reverse("admin:index")
    res = client.get(reverse("admin:coupons_voucher_change", args=[two_orgs["v_b"].pk]))
    assert res.status_code == 302


def test_other_organizations_object_cannot_be_changed(client, two_orgs):
    client.force_login(two_orgs["op_a"].user)
    lot_b = two_orgs["lot_b"]
    res = client.post(
        reverse("admin:parking_lot_change", args=[lot_b.pk]),
        {"name": "Hijacked", "capacity": 5, "grace_minutes": 15, "tariffs-TOTAL_FORMS": 0, "tariffs-INITIAL_FORMS": 0},
    )
    assert res.status_code == 302
    lot_b.refresh_from_db()
    assert lot_b.name == "Beta Lot" and lot_b.capacity == 100
    res = client.post(reverse("admin:parking_lot_delete", args=[lot_b.pk]), {"post": "yes"})
    assert Lot.objects.filter(pk=lot_b.pk).exists()


def test_organization_field_cannot_be_used_to_escape(client, two_orgs):
    client.force_login(two_orgs["op_a"].user)
    res = client.get(reverse("admin:parking_lot_add"))
    assert 'name="organization"' not in res.content.decode()
    res = client.post(
        reverse("admin:parking_lot_add"),
        {
            "name": "Sneaky",
            "capacity": 10,
            "grace_minutes": 15,
            "organization": two_orgs["b"].pk,
            "tariffs-TOTAL_FORMS": 0,
            "tariffs-INITIAL_FORMS": 0,
        },
    )
    assert res.status_code == 302
    assert Lot.objects.get(name="Sneaky").organization == two_orgs["a"]


def test_foreign_key_choices_are_scoped(client, two_orgs):
    client.force_login(two_orgs["op_a"].user)
    res = client.get(reverse("admin:coupons_voucher_add"))
    html = res.content.decode()
    assert "Alpha Lot" in html and "Beta Lot" not in html
    # Posting another organization's lot is a form error, nothing is created.
    res = client.post(
        reverse("admin:coupons_voucher_add"),
        {
            "title": "X",
            "kind": "normal",
            "price": 100,
            "benefit_type": "amount",
            "benefit_value": 100,
            "lot": two_orgs["lot_b"].pk,
            "per_user_limit": 1,
            "payment_window_seconds": 900,
            "low_stock_threshold": 0,
            "status": "draft",
        },
    )
    assert res.status_code == 200
    assert not Voucher.objects.filter(title="X").exists()


def test_superuser_sees_everything(client, two_orgs):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:parking_lot_changelist")).content.decode()
    assert "Alpha Lot" in html and "Beta Lot" in html


def test_cashier_reads_but_cannot_change(client, two_orgs):
    cashier = OperatorFactory(organization=two_orgs["a"], role=Operator.Role.CASHIER, user__username="cash")
    client.force_login(cashier.user)
    lot_a = two_orgs["lot_a"]
    assert client.get(reverse("admin:parking_lot_changelist")).status_code == 200
    assert client.get(reverse("admin:parking_lot_add")).status_code == 403
    client.post(
        reverse("admin:parking_lot_change", args=[lot_a.pk]),
        {"name": "Renamed", "capacity": 5, "grace_minutes": 15, "tariffs-TOTAL_FORMS": 0, "tariffs-INITIAL_FORMS": 0},
    )
    lot_a.refresh_from_db()
    assert lot_a.name == "Alpha Lot"


def test_customer_without_membership_gets_nothing(client, two_orgs):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse("admin:parking_lot_changelist")).status_code == 403


def test_every_project_model_admin_uses_the_scoping_mixin():
    from django.contrib import admin

    from accounts.scoping import OrganizationScopedAdmin

    django_own = {"auth", "authtoken"}
    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label not in django_own and not isinstance(model_admin, OrganizationScopedAdmin)
    ]
    assert unscoped == []


@pytest.mark.parametrize("name", ["admin:auth_user_changelist", "admin:auth_group_changelist"])
def test_django_own_admins_are_closed_to_operators(client, two_orgs, name):
    client.force_login(two_orgs["op_a"].user)
    assert client.get(reverse(name)).status_code == 403
    assert client.get(reverse("admin:authtoken_tokenproxy_changelist")).status_code == 403


def test_foreign_key_to_a_model_without_a_declared_scope_offers_an_operator_nothing(two_orgs):
    """A dropdown over a model nobody declared a scope for (register_scope) would list every
    organization's rows: it fails closed instead."""
    from accounts.scoping import scope_related
    from parking.models import Vehicle
    from tests.factories import UserFactory

    Vehicle.objects.create(user=UserFactory(), plate="B-12345")
    assert scope_related(Vehicle.objects.all(), two_orgs["op_a"].user).count() == 0


def test_only_an_owner_sets_roles_and_never_their_own(client, two_orgs):
    org = two_orgs["a"]
    owner = two_orgs["op_a"]
    manager = OperatorFactory(organization=org, role=Operator.Role.MANAGER, user__username="mgr")
    url = reverse("admin:accounts_operator_change", args=[manager.pk])

    client.force_login(manager.user)
    client.post(reverse("admin:accounts_operator_change", args=[manager.pk]), {"role": "owner"})
    manager.refresh_from_db()
    assert manager.role == Operator.Role.MANAGER  # a manager cannot promote anyone, himself included

    client.force_login(owner.user)
    res = client.post(url, {"role": "cashier"})
    assert res.status_code == 302
    manager.refresh_from_db()
    assert manager.role == Operator.Role.CASHIER
    client.post(reverse("admin:accounts_operator_change", args=[owner.pk]), {"role": "cashier"})
    owner.refresh_from_db()
    assert owner.role == Operator.Role.OWNER
    # another organization's operator stays out of reach
    client.post(reverse("admin:accounts_operator_change", args=[two_orgs["op_b"].pk]), {"role": "cashier"})
    two_orgs["op_b"].refresh_from_db()
    assert two_orgs["op_b"].role == Operator.Role.OWNER


def test_an_owner_renames_their_organization_and_nobody_else_can(client, two_orgs):
    org = two_orgs["a"]
    manager = OperatorFactory(organization=org, role=Operator.Role.MANAGER, user__username="mgr2")
    url = reverse("admin:accounts_organization_change", args=[org.pk])
    client.force_login(manager.user)
    client.post(url, {"name": "Renamed by manager"})
    org.refresh_from_db()
    assert org.name == "Alpha Parking"
    client.force_login(two_orgs["op_a"].user)
    assert client.post(url, {"name": "Alpha Parking Ltd"}).status_code == 302
    org.refresh_from_db()
    assert org.name == "Alpha Parking Ltd"
    client.post(reverse("admin:accounts_organization_change", args=[two_orgs["b"].pk]), {"name": "Hijacked"})
    two_orgs["b"].refresh_from_db()
    assert two_orgs["b"].name == "Beta Parking"
