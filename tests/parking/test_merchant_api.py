"""Merchants over the API and the portal: an operator registers one, the merchant buys a quota and
issues coupons, a driver claims a link; scoping between organizations and between merchants; bad
input answered with codes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from parking.models import Merchant, MerchantIssue
from parking.services import stays, vehicles
from parking.tariffs import TariffRule
from tests.conftest import auth_client
from tests.factories import OperatorFactory

from .conftest import ago, balance, fund

pytestmark = pytest.mark.django_db


def register(op_client, lot, name="Tea House", username="teahouse", **change):
    body = {
        "name": name,
        "lots": [lot.pk],
        "username": username,
        "password": "leaf-and-water-42",
        "benefit": {"type": "minutes", "value": 120},
        "unit_price": 300,
    } | change
    return op_client.post("/api/v1/operator/merchants", body, format="json")


def until(days=7):
    return (timezone.now() + timedelta(days=days)).isoformat()


@pytest.fixture
def shop(op_client, lot):
    res = register(op_client, lot)
    assert res.status_code == 201, res.content
    merchant = Merchant.objects.get(pk=res.json()["id"])
    fund(merchant.account, 10_000, key="shop")
    return merchant


@pytest.fixture
def shop_api(shop):
    return auth_client(shop.account)


def test_register_buy_issue_and_the_organization_sees_it(op_client, lot, shop, shop_api):
    me = shop_api.get("/api/v1/merchant").json()
    assert me["name"] == "Tea House" and me["balance"] == 10_000 and me["lots"] == [{"id": lot.pk, "name": "Central"}]
    res = shop_api.post("/api/v1/merchant/quotas", {"quantity": 5, "valid_until": until()}, format="json")
    assert res.status_code == 201, res.content
    quota = res.json()
    assert (quota["price"], quota["remaining"], quota["benefit"]) == (1500, 5, {"type": "minutes", "value": 120})
    assert balance(shop.account) == 8500

    res = shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤b 12345"}, format="json")
    assert res.status_code == 201 and res.json()["plate"] == "粤B12345" and res.json()["status"] == "issued"
    link = shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "claim_link": True}, format="json").json()
    assert link["claim_url"].startswith("http://testserver/claim/")

    stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    exit_ = op_client.post(
        f"/api/v1/operator/lots/{lot.pk}/exits", {"plate": "粤B12345", "at": ago(1).isoformat()}, format="json"
    )
    assert exit_.json()["gate"] == "open" and exit_.json()["due"] == 0

    seen = op_client.get(f"/api/v1/operator/merchants/{shop.pk}/issues").json()
    used = next(i for i in seen if i["plate"] == "粤B12345")
    assert used["status"] == "used" and used["discount"] == 900 and used["lot"] == {"id": lot.pk, "name": "Central"}
    quotas = op_client.get(f"/api/v1/operator/merchants/{shop.pk}/quotas").json()
    assert [(q["issued"], q["redeemed"]) for q in quotas] == [(2, 1)]
    assert [m["name"] for m in op_client.get("/api/v1/operator/merchants").json()] == ["Tea House"]


def test_a_driver_claims_a_link(shop, shop_api, customer, cust_client, lot):
    quota = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json").json()
    link = shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "claim_link": True}, format="json").json()
    token = link["claim_url"].rstrip("/").rsplit("/", 1)[1]
    vehicles.vehicle_register(user=customer, plate="粤B12345")
    res = cust_client.post(f"/api/v1/claims/{token}", {"plate": "粤B12345"}, format="json")
    assert res.status_code == 200 and res.json()["plate"] == "粤B12345" and res.json()["claim_url"] is None
    again = cust_client.post(f"/api/v1/claims/{token}", {"plate": "粤B12345"}, format="json")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"


def test_merchants_and_organizations_are_scoped(op_client, lot, shop, shop_api):
    quota = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json").json()
    other_lot = stays.lot_create(organization=lot.organization, name="Other", capacity=3, tariff=TariffRule())
    other = Merchant.objects.get(pk=register(op_client, other_lot, name="Bakery", username="bakery").json()["id"])
    other_api = auth_client(other.account)
    res = other_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B12345"}, format="json")
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    assert other_api.get("/api/v1/merchant/quotas").json() == []

    stranger = auth_client(OperatorFactory().user)
    assert stranger.get("/api/v1/operator/merchants").json() == []
    for url in (f"/api/v1/operator/merchants/{shop.pk}/quotas", f"/api/v1/operator/merchants/{shop.pk}/issues"):
        assert stranger.get(url).status_code == 404
    # an operator is not a merchant, a merchant is not an operator
    assert op_client.get("/api/v1/merchant").status_code == 403
    assert shop_api.get("/api/v1/operator/merchants").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 0, "valid_until": "2099-01-01T00:00:00Z"}, "quantity"),
        ({"quantity": "5", "valid_until": "2099-01-01T00:00:00Z"}, "quantity"),
        ({"quantity": 5}, "valid_until"),
        ({"quantity": 5, "valid_until": "2099-01-01T00:00:00"}, "valid_until"),
        ({"quantity": 5, "valid_until": "2020-01-01T00:00:00Z"}, "valid_until"),
    ],
)
def test_bad_quota_input(shop_api, body, field):
    res = shop_api.post("/api/v1/merchant/quotas", body, format="json")
    assert res.status_code == 400 and field in res.json()["error"]["details"], res.content


def test_issue_errors(shop_api):
    quota = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json").json()
    for body, status, code in [
        ({"quota": quota["id"]}, 400, "validation_error"),
        ({"quota": quota["id"], "plate": "not a plate"}, 400, "validation_error"),
        ({"quota": quota["id"], "plate": "粤B12345", "claim_link": True}, 400, "validation_error"),
        ({"quota": 999999, "plate": "粤B12345"}, 404, "not_found"),
    ]:
        res = shop_api.post("/api/v1/merchant/issues", body, format="json")
        assert (res.status_code, res.json()["error"]["code"]) == (status, code), body
    assert (
        shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B12345"}, format="json").status_code
        == 201
    )
    res = shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B54321"}, format="json")
    assert res.status_code == 409 and res.json()["error"]["code"] == "sold_out"


def test_a_short_wallet_is_insufficient_funds(shop_api, shop):
    res = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1000, "valid_until": until()}, format="json")
    assert res.status_code == 409 and res.json()["error"]["code"] == "insufficient_funds"
    assert balance(shop.account) == 10_000


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"password": "123"}, "password"),
        ({"lots": [999999]}, "lots"),
        ({"benefit": {"type": "percent", "value": 150}}, "benefit"),
        ({"unit_price": -5}, "unit_price"),
    ],
)
def test_bad_merchant_registration(op_client, lot, change, field):
    res = register(op_client, lot, **change)
    assert res.status_code == 400 and field in res.json()["error"]["details"], res.content
    assert not Merchant.objects.exists()


def test_a_taken_username_is_a_validation_error(op_client, lot, shop):
    res = register(op_client, lot, name="Second")
    assert res.status_code == 400 and res.json()["error"]["code"] == "validation_error"


def test_the_portal(client, shop, lot):
    client.force_login(shop.account)
    page = client.get("/merchant/")
    assert page.status_code == 200 and "Tea House" in page.content.decode()
    assert client.post("/merchant/quotas/buy/", {"quantity": 2, "days": 10}).status_code == 302
    quota = shop.quotas.get()
    client.post("/merchant/issue/", {"quota": quota.pk, "plate": "粤B12345"})
    assert MerchantIssue.objects.get().plate == "粤B12345"
    page = client.get("/merchant/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "粤B12345" in page


def test_the_portal_is_for_merchants_only(client, customer):
    client.force_login(customer)
    assert client.get("/merchant/").status_code == 403


def test_the_pay_page_shows_and_applies_the_shops_coupon(client, shop, shop_api, customer, lot):
    """200 minutes cost 1500; the shop's 120 minutes off leave 700 to pay."""
    quota = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json").json()
    shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B12345"}, format="json")
    fund(customer, 5000)
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=False)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(200))
    client.force_login(customer)
    page = client.get(f"/parking/sessions/{session.pk}/pay/").content.decode()
    assert "Tea House's coupon for this car" in page and 'data-amount="700"' in page
    assert client.post(f"/parking/sessions/{session.pk}/pay/", {"coupon": ""}).status_code == 302
    assert balance(customer) == 4300 and MerchantIssue.objects.get().status == "used"


def test_staff_issue_for_the_merchant_and_only_managers_buy(shop, shop_api, client):
    for username, role in (("clerk1", "clerk"), ("manager1", "manager")):
        res = shop_api.post(
            "/api/v1/merchant/staff",
            {"username": username, "password": "leaf-and-water-42", "role": role},
            format="json",
        )
        assert res.status_code == 201 and res.json()["role"] == role, res.content
    assert [m["username"] for m in shop_api.get("/api/v1/merchant/staff").json()] == ["clerk1", "manager1"]
    clerk = auth_client(shop.members.get(role="clerk").user)
    manager = auth_client(shop.members.get(role="manager").user)
    assert clerk.get("/api/v1/merchant").json()["balance"] == 10_000  # the merchant's wallet
    res = clerk.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json")
    assert res.status_code == 403 and res.json()["error"]["code"] == "permission_denied"
    quota = manager.post("/api/v1/merchant/quotas", {"quantity": 2, "valid_until": until()}, format="json").json()
    assert balance(shop.account) == 10_000 - 600
    res = clerk.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B12345"}, format="json")
    assert res.status_code == 201
    assert clerk.get("/api/v1/merchant/staff").status_code == 403  # only the owner manages staff
    client.force_login(shop.members.get(role="clerk").user)
    page = client.get("/merchant/").content.decode()
    assert "粤B12345" in page and 'data-testid="buy-form"' not in page
    assert client.post("/merchant/quotas/buy/", {"quantity": 1, "days": 3}).status_code == 403


def test_bad_staff_input(shop_api):
    res = shop_api.post("/api/v1/merchant/staff", {"username": "x1", "password": "123", "role": "boss"}, format="json")
    assert res.status_code == 400 and {"password", "role"} <= set(res.json()["error"]["details"])


def test_the_fee_answer_shows_the_shops_coupon(shop, shop_api, customer, cust_client, lot):
    """200 minutes cost 1500; the shop's 120 minutes off leave 700. The fee answer says so before
    paying, and paying without a coupon of one's own takes it."""
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=False)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(200))
    body = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert body["merchant_coupon"] is None and body["payment"]["amount"] == 1500
    quota = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json").json()
    shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B12345"}, format="json")
    body = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert body["merchant_coupon"] == {"merchant": "Tea House", "discount": 800, "amount": 700}
    fund(customer, 5000)
    paid = cust_client.post(f"/api/v1/parking/payments/{body['payment']['id']}/pay", {}, format="json")
    assert paid.status_code == 200 and (paid.json()["discount"], paid.json()["amount"]) == (800, 700)
    body = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert body["merchant_coupon"] is None  # used


def test_the_fee_answer_leaves_out_a_coupon_that_saves_nothing(shop, shop_api, customer, cust_client, lot):
    """20 hours cost the day's cap with or without 120 minutes off: the coupon would save nothing."""
    vehicles.vehicle_register(user=customer, plate="粤B12345", auto_pay=False)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(1200))
    quota = shop_api.post("/api/v1/merchant/quotas", {"quantity": 1, "valid_until": until()}, format="json").json()
    shop_api.post("/api/v1/merchant/issues", {"quota": quota["id"], "plate": "粤B12345"}, format="json")
    body = cust_client.get(f"/api/v1/parking/sessions/{session.pk}/fee").json()
    assert body["payment"]["amount"] == 3000 and body["merchant_coupon"] is None


def test_the_owner_manages_staff_in_the_portal(client, shop, op_client, lot):
    from parking.models import MerchantMember

    client.force_login(shop.account)
    page = client.get("/merchant/").content.decode()
    assert 'data-testid="staff-form"' in page
    res = client.post("/merchant/staff/add/", {"username": "clerk1", "password": "leaf-and-water-42", "role": "clerk"})
    assert res.status_code == 302
    member = MerchantMember.objects.get(merchant=shop)
    assert (member.user.username, member.role) == ("clerk1", "clerk")
    assert 'data-username="clerk1"' in client.get("/merchant/").content.decode()
    page = client.get("/merchant/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "添加员工" in page and "店员" in page
    # a weak password or a taken username adds nobody
    client.post("/merchant/staff/add/", {"username": "clerk2", "password": "123", "role": "clerk"})
    client.post("/merchant/staff/add/", {"username": "clerk1", "password": "leaf-and-water-42", "role": "clerk"})
    assert MerchantMember.objects.count() == 1
    # staff see no staff section and may not manage it
    client.force_login(member.user)
    page = client.get("/merchant/").content.decode()
    assert 'data-testid="staff-form"' not in page and 'data-testid="nav-merchant"' in page
    assert client.post("/merchant/staff/add/", {"username": "x2", "password": "leaf-and-water-42"}).status_code == 403
    assert client.post(f"/merchant/staff/{member.pk}/remove/").status_code == 403
    # another merchant's owner cannot remove this merchant's staff
    other = Merchant.objects.get(pk=register(op_client, lot, name="Noodles", username="noodles").json()["id"])
    client.force_login(other.account)
    client.post(f"/merchant/staff/{member.pk}/remove/")
    assert MerchantMember.objects.filter(pk=member.pk).exists()
    # the owner removes them: the user is a plain customer again
    client.force_login(shop.account)
    assert client.post(f"/merchant/staff/{member.pk}/remove/").status_code == 302
    assert not MerchantMember.objects.exists()
    client.force_login(member.user)
    assert client.get("/merchant/").status_code == 403


def test_the_owner_removes_staff_over_the_api(shop, shop_api, op_client, lot):
    body = {"username": "clerk1", "password": "leaf-and-water-42", "role": "clerk"}
    res = shop_api.post("/api/v1/merchant/staff", body, format="json")
    member_id = res.json()["id"]
    clerk = auth_client(shop.members.get().user)
    assert clerk.delete(f"/api/v1/merchant/staff/{member_id}").status_code == 403
    other = Merchant.objects.get(pk=register(op_client, lot, name="Noodles", username="noodles").json()["id"])
    res = auth_client(other.account).delete(f"/api/v1/merchant/staff/{member_id}")
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"
    assert shop_api.delete(f"/api/v1/merchant/staff/{member_id}").status_code == 204
    assert shop_api.delete(f"/api/v1/merchant/staff/{member_id}").status_code == 404
    assert clerk.get("/api/v1/merchant").status_code == 403


def test_my_shop_is_in_the_menu_of_an_active_merchant_only(client, shop):
    client.force_login(shop.account)
    assert 'data-testid="nav-merchant"' in client.get("/parking/sessions/").content.decode()
    Merchant.objects.filter(pk=shop.pk).update(active=False)  # suspended: its portal is 403
    assert 'data-testid="nav-merchant"' not in client.get("/parking/sessions/").content.decode()
    assert client.get("/merchant/").status_code == 403
