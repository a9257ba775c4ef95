"""The voucher admin: scoped to the operator's organization, publish and delist actions."""

import pytest

from coupons.models import Voucher
from seckill import gate
from tests.factories import OperatorFactory, SeckillVoucherFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_sees_only_own_vouchers_and_publishes_through_the_action(client):
    operator = OperatorFactory()
    mine = SeckillVoucherFactory(organization=operator.organization, status=Voucher.Status.DRAFT, title="Mine")
    SeckillVoucherFactory(title="Theirs")
    client.force_login(operator.user)
    page = client.get("/admin/coupons/voucher/")
    assert page.status_code == 200
    assert b"Mine" in page.content and b"Theirs" not in page.content
    res = client.post("/admin/coupons/voucher/", {"action": "publish", "_selected_action": [mine.pk]}, follow=True)
    assert res.status_code == 200
    mine.refresh_from_db()
    assert mine.status == Voucher.Status.LISTED and mine.published_at is not None
    assert gate.peek(mine.pk)[1] == mine.stock
    client.post("/admin/coupons/voucher/", {"action": "delist", "_selected_action": [mine.pk]}, follow=True)
    mine.refresh_from_db()
    assert mine.status == Voucher.Status.DELISTED and gate.peek(mine.pk)[0]["status"] == "delisted"


def test_admin_add_form_rejects_another_organizations_lot_without_a_500(client):
    from tests.factories import LotFactory

    operator = OperatorFactory()
    foreign = LotFactory()
    client.force_login(operator.user)
    res = client.post(
        "/admin/coupons/voucher/add/",
        {
            "lot": foreign.pk,
            "title": "Sneaky",
            "kind": "normal",
            "price": 100,
            "benefit_type": "amount",
            "benefit_value": 100,
            "per_user_limit": 1,
            "payment_window_seconds": 900,
            "low_stock_threshold": 0,
        },
    )
    assert res.status_code == 200  # the form again, with an error
    assert not Voucher.objects.filter(title="Sneaky").exists()
