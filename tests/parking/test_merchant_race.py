"""A merchant's quota under parallel issuing, on real PostgreSQL: never more coupons than bought."""

from datetime import timedelta

import pytest
from django.utils import timezone

from config.errors import DomainError
from parking.models import Merchant, MerchantIssue, MerchantQuota
from parking.services import merchants, stays
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory, UserFactory, WalletFactory

from .conftest import fund
from .test_concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_quota_is_never_overspent_under_parallel_issuing():
    quantity, callers = 3, 8
    org = OperatorFactory().organization
    lot = stays.lot_create(organization=org, name="Race", capacity=50, tariff=TariffRule())
    account = UserFactory()
    WalletFactory(user=account)
    fund(account, 10_000)
    shop = merchants.merchant_create(
        organization=org, name="Shop", lots=[lot], account=account, benefit_type="free", benefit_value=0, unit_price=100
    )
    quota = merchants.quota_buy(
        merchant=shop, quantity=quantity, valid_from=timezone.now(), valid_until=timezone.now() + timedelta(days=1)
    )
    calls = [
        lambda i=i: merchants.issue_to_plate(
            merchant=Merchant.objects.get(pk=shop.pk), quota_id=quota.pk, plate=f"粤B{i:05d}", user=None
        )
        for i in range(callers)
    ]

    results = race(*calls)

    issued = [r for r in results if isinstance(r, MerchantIssue)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(issued) == quantity and len(refused) == callers - quantity, results
    assert all(r.code == "sold_out" for r in refused)
    quota.refresh_from_db()
    assert quota.issued == quantity == MerchantIssue.objects.filter(quota=quota).count()
    assert MerchantQuota.objects.get(pk=quota.pk).issued <= quota.quantity
