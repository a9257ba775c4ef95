"""Customer voucher reads: what is on sale, the live remaining stock and the sale's status."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coupons.models import Voucher
from tests.conftest import auth_client
from tests.factories import LotFactory, SeckillVoucherFactory, UserFactory, VoucherFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customer():
    return auth_client(UserFactory())


def test_list_shows_what_is_on_sale_or_coming(customer):
    now = timezone.now()
    on = SeckillVoucherFactory()
    soon = SeckillVoucherFactory(begins_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    normal = VoucherFactory(stock=None)
    SeckillVoucherFactory(begins_at=now - timedelta(hours=2), ends_at=now - timedelta(hours=1))
    VoucherFactory(status=Voucher.Status.DRAFT)
    VoucherFactory(status=Voucher.Status.DELISTED)
    body = customer.get("/api/v1/vouchers").json()
    assert {v["id"] for v in body} == {on.pk, soon.pk, normal.pk}
    by_id = {v["id"]: v for v in body}
    assert by_id[soon.pk]["status"] == "upcoming" and by_id[on.pk]["status"] == "on_sale"
    assert by_id[normal.pk]["stock_remaining"] is None
    assert by_id[on.pk]["benefit"] == {"type": "amount", "value": 1000}


def test_list_filters_by_organization_and_lot(customer):
    lot = LotFactory()
    other_lot = LotFactory(organization=lot.organization)
    at_lot = SeckillVoucherFactory(organization=lot.organization, lot=lot)
    everywhere = SeckillVoucherFactory(organization=lot.organization, lot=None)
    SeckillVoucherFactory(organization=lot.organization, lot=other_lot)
    SeckillVoucherFactory()
    ids = {v["id"] for v in customer.get(f"/api/v1/vouchers?lot={lot.pk}").json()}
    assert ids == {at_lot.pk, everywhere.pk}
    ids = {v["id"] for v in customer.get(f"/api/v1/vouchers?organization={lot.organization_id}").json()}
    assert len(ids) == 3
    assert customer.get("/api/v1/vouchers?lot=abc").status_code == 400


@pytest.mark.parametrize("query", ["organization=²", "lot=²", "lot=١"])
def test_filters_with_digits_that_are_not_ids_are_400_and_the_page_ignores_them(customer, client, query):
    res = customer.get(f"/api/v1/vouchers?{query}")
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "validation_error"
    assert client.get(f"/vouchers/?{query}").status_code == 200


def test_detail_follows_the_gate_stock(customer):
    voucher = SeckillVoucherFactory(stock=2)
    body = customer.get(f"/api/v1/vouchers/{voucher.pk}").json()
    assert body["stock_remaining"] == 2 and body["status"] == "on_sale"
    for _ in range(2):
        assert auth_client(UserFactory()).post(f"/api/v1/vouchers/{voucher.pk}/purchase", {}).status_code == 202
    body = customer.get(f"/api/v1/vouchers/{voucher.pk}").json()
    assert body["stock_remaining"] == 0 and body["status"] == "sold_out"


def test_detail_of_a_hidden_voucher_is_404(customer):
    draft = VoucherFactory(status=Voucher.Status.DRAFT)
    res = customer.get(f"/api/v1/vouchers/{draft.pk}")
    assert res.status_code == 404 and res.json()["error"]["code"] == "not_found"


def test_live_json_for_the_page(client):
    voucher = SeckillVoucherFactory(stock=7)
    res = client.get(f"/vouchers/{voucher.pk}/live")
    assert res.status_code == 200
    body = res.json()
    assert body["stock_remaining"] == 7 and body["status"] == "on_sale" and body["now_ms"] > 0
    assert "no-cache" in res["Cache-Control"]


def test_live_json_is_shared_for_a_second_so_a_crowd_costs_no_queries(client, django_assert_num_queries):
    voucher = SeckillVoucherFactory(stock=7)
    first = client.get(f"/vouchers/{voucher.pk}/live").json()
    with django_assert_num_queries(0):
        again = client.get(f"/vouchers/{voucher.pk}/live").json()
    assert again["stock_remaining"] == first["stock_remaining"] == 7
    assert again["now_ms"] >= first["now_ms"]
    assert client.get("/vouchers/999999/live").status_code == 404


def test_pages_render(client):
    lot = LotFactory()
    voucher = SeckillVoucherFactory(organization=lot.organization, lot=lot, title="Morning rush")
    page = client.get("/vouchers/")
    assert page.status_code == 200 and b"Morning rush" in page.content
    page = client.get(f"/vouchers/?organization={lot.organization_id}&lot={lot.pk}")
    assert b"Morning rush" in page.content
    assert b"Morning rush" not in client.get(f"/vouchers/?lot={LotFactory().pk}").content
    detail = client.get(f"/vouchers/{voucher.pk}/")
    assert detail.status_code == 200 and b'data-testid="login-to-buy"' in detail.content
    assert client.get("/vouchers/999999/").status_code == 404


def test_an_unknown_kind_is_400_not_ignored(customer):
    res = customer.get("/api/v1/vouchers?kind=bogus")
    assert res.status_code == 400
    assert "kind" in res.json()["error"]["details"]
    SeckillVoucherFactory()
    assert len(customer.get("/api/v1/vouchers?kind=seckill").json()) == 1
    assert customer.get("/api/v1/vouchers?kind=normal").json() == []
