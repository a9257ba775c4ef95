"""The reconciliation's reports in the admin: superusers see every finding, an operator sees every
run but only the findings about their own organization."""

import pytest
from django.urls import reverse

from tests.factories import OperatorFactory, OrganizationFactory, UserFactory
from wallet.reconciliation import Finding, money_reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    a, b = OrganizationFactory(name="Alpha Parking"), OrganizationFactory(name="Beta Parking")
    checks = {
        "planted": lambda: [
            Finding(message="Alpha order unpaid", rows=["orders.order:a"], organization_id=a.pk),
            Finding(message="Beta order unpaid", rows=["orders.order:b"], organization_id=b.pk),
            Finding(message="Wallet off by one", rows=["wallet.wallet:1"]),
        ]
    }
    return {"report": money_reconcile(checks=checks), "op_a": OperatorFactory(organization=a)}


def test_an_operator_sees_the_findings_of_their_organization_only(client, report):
    client.force_login(report["op_a"].user)
    page = client.get(reverse("admin:wallet_moneyreconciliationreport_change", args=[report["report"].pk]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Alpha order unpaid" in body
    assert "Beta order unpaid" not in body and "Wallet off by one" not in body
    listing = client.get(reverse("admin:wallet_moneyreconciliationfinding_changelist")).content.decode()
    assert "Alpha order unpaid" in listing and "Beta order unpaid" not in listing and "Wallet off" not in listing


def test_a_superuser_sees_every_finding(client, report):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    body = client.get(
        reverse("admin:wallet_moneyreconciliationreport_change", args=[report["report"].pk])
    ).content.decode()
    assert "Alpha order unpaid" in body and "Beta order unpaid" in body and "Wallet off by one" in body
    listing = client.get(reverse("admin:wallet_moneyreconciliationreport_changelist"))
    assert listing.status_code == 200
