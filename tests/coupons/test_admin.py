"""The voucher admin: scoped to the operator's organization, publish and delist actions."""

import pytest

from config.money import yuan_text
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


def _change_form(voucher, **over):
    from django.utils import timezone

    def split(name, value):
        local = timezone.localtime(value)
        return {f"{name}_0": local.strftime("%Y-%m-%d"), f"{name}_1": local.strftime("%H:%M:%S")}

    data = {
        "lot": "",
        "title": voucher.title,
        "price": yuan_text(voucher.price),
        "benefit_type": voucher.benefit_type,
        # An amount off is typed in yuan, minutes and percent as whole numbers.
        "benefit_value": (
            yuan_text(voucher.benefit_value) if voucher.benefit_type == "amount" else voucher.benefit_value
        ),
        "per_user_limit": voucher.per_user_limit,
        "payment_window_seconds": voucher.payment_window_seconds,
        "low_stock_threshold": voucher.low_stock_threshold,
        **split("begins_at", voucher.begins_at),
        **split("ends_at", voucher.ends_at),
    }
    data.update(over)
    return data


def test_saving_a_live_sale_in_the_admin_never_writes_back_a_stock_read_before_a_purchase(client, monkeypatch):
    """The change form reads the voucher, then saves it. A purchase committed in between must not
    be undone by the save (a lost update of `stock` puts a sold unit back on sale: an oversell)."""
    import threading

    from django.db import connection

    from coupons.admin import VoucherAdmin
    from orders.models import Order
    from orders.placing import order_place
    from tests.factories import UserFactory

    operator = OperatorFactory()
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=10, title="Before")
    buyer = UserFactory()
    original = VoucherAdmin.save_form

    def save_form_while_a_customer_buys(self, request, form, change):
        obj = original(self, request, form, change)
        errors = []

        def buy():
            try:
                order_place(voucher=Voucher.objects.get(pk=voucher.pk), user_id=buyer.pk)
            except BaseException as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        t = threading.Thread(target=buy)
        t.start()
        t.join(30)
        assert not errors and not t.is_alive()
        return obj

    monkeypatch.setattr(VoucherAdmin, "save_form", save_form_while_a_customer_buys)
    client.force_login(operator.user)
    res = client.post(f"/admin/coupons/voucher/{voucher.pk}/change/", _change_form(voucher, title="After"))
    assert res.status_code == 302, res.content[:2000]
    voucher.refresh_from_db()
    assert voucher.title == "After"
    assert Order.objects.filter(voucher=voucher, status__in=Order.LIVE).count() == 1
    assert voucher.stock == 9 and voucher.sold_count == 1


def test_admin_refuses_dropping_a_published_limit_to_one_with_a_form_error(client):
    operator = OperatorFactory()
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=10, per_user_limit=3)
    client.force_login(operator.user)
    res = client.post(f"/admin/coupons/voucher/{voucher.pk}/change/", _change_form(voucher, per_user_limit=1))
    assert res.status_code == 200  # the form again, with the reason
    assert b"cannot drop to 1" in res.content
    voucher.refresh_from_db()
    assert voucher.per_user_limit == 3


def test_a_drafts_stock_changed_in_the_admin_is_what_the_oversell_audit_counts(client):
    """initial_stock (the audit's "units put on sale") follows a draft's stock; a stale one made a
    sale of the new stock look like an oversell."""
    from seckill.reconcile import reconcile_voucher

    operator = OperatorFactory()
    voucher = SeckillVoucherFactory(organization=operator.organization, stock=10, status=Voucher.Status.DRAFT)
    Voucher.objects.filter(pk=voucher.pk).update(initial_stock=10)
    client.force_login(operator.user)
    res = client.post(f"/admin/coupons/voucher/{voucher.pk}/change/", _change_form(voucher, stock=25, kind="seckill"))
    assert res.status_code == 302
    voucher.refresh_from_db()
    assert voucher.stock == 25 and voucher.initial_stock == 25
    report = reconcile_voucher(voucher)
    assert "oversell" not in report and "db_drift" not in report
