"""Merchants in the admin: an organization registers one with its login and sees only its own
merchants' quotas and issued coupons."""

import pytest

from parking.models import Merchant
from parking.services import merchants, stays
from parking.tariffs import TariffRule
from tests.factories import OperatorFactory

pytestmark = pytest.mark.django_db


def test_an_operator_registers_a_merchant_and_sees_its_coupons(client, operator, lot):
    client.force_login(operator.user)
    assert client.get("/admin/parking/merchant/add/").status_code == 200
    res = client.post(
        "/admin/parking/merchant/add/",
        {
            "name": "Tea House",
            "lots": [lot.pk],
            "benefit_type": "minutes",
            "benefit_value": 120,
            "unit_price": "3.00",  # typed in yuan
            "username": "teahouse",
            "password": "leaf-and-water-42",
            "quotas-TOTAL_FORMS": 0,
            "quotas-INITIAL_FORMS": 0,
        },
    )
    assert res.status_code == 302, res.content.decode()[:2000]
    shop = Merchant.objects.get()
    assert (shop.organization, shop.account.username, list(shop.lots.all())) == (
        operator.organization,
        "teahouse",
        [lot],
    )
    assert shop.account.check_password("leaf-and-water-42")
    assert (shop.unit_price, shop.benefit_value) == (300, 120)
    assert client.get(f"/admin/parking/merchant/{shop.pk}/change/").status_code == 200

    from tests.parking.conftest import fund

    fund(shop.account, 1000)
    quota = merchants.quota_buy(
        merchant=shop, quantity=2, valid_from=lot.created_at, valid_until=lot.created_at.replace(year=2099)
    )
    merchants.issue_to_plate(merchant=shop, quota_id=quota.pk, plate="粤B12345", user=None)
    assert "粤B12345" in client.get("/admin/parking/merchantissue/").content.decode()
    assert client.get("/admin/parking/merchantquota/").status_code == 200

    client.logout()
    stranger = OperatorFactory()
    client.force_login(stranger.user)
    assert "粤B12345" not in client.get("/admin/parking/merchantissue/").content.decode()
    assert "Tea House" not in client.get("/admin/parking/merchant/").content.decode()
    assert client.get(f"/admin/parking/merchant/{shop.pk}/change/").status_code in (302, 404)


def test_a_weak_password_or_foreign_lot_is_refused(client, operator, lot):
    foreign = stays.lot_create(organization=OperatorFactory().organization, name="X", capacity=2, tariff=TariffRule())
    client.force_login(operator.user)
    base = {
        "name": "Shop",
        "benefit_type": "free",
        "benefit_value": 0,
        "unit_price": "1.00",
        "username": "shop1",
        "quotas-TOTAL_FORMS": 0,
        "quotas-INITIAL_FORMS": 0,
    }
    res = client.post("/admin/parking/merchant/add/", base | {"lots": [lot.pk], "password": "123"})
    assert res.status_code == 200 and "password" in res.context["adminform"].form.errors
    res = client.post("/admin/parking/merchant/add/", base | {"lots": [foreign.pk], "password": "leaf-and-water-42"})
    assert res.status_code == 200 and "lots" in res.context["adminform"].form.errors
    assert not Merchant.objects.exists()
