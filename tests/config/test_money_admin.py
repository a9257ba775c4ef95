"""Money in the admin is yuan, shown and typed (config.money), and every constraint of the database
explains itself in words (violation_error_message), in both languages."""

import pytest
from django.apps import apps
from django.db import models
from django.utils import translation

from config.money import YuanField, format_money
from tests.factories import OperatorFactory, OrderFactory, VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("typed", "fen"), [("12.50", 1250), ("12.5", 1250), ("12", 1200), ("0.01", 1), ("0", 0), ("-3.00", -300)]
)
def test_yuan_field_cleans_to_fen(typed, fen):
    assert YuanField(min_value=None).clean(typed) == fen


@pytest.mark.parametrize("typed", ["0.001", "abc", "12,50", "NaN", "Infinity"])
def test_yuan_field_refuses_what_is_not_an_amount(typed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        YuanField().clean(typed)


def test_yuan_field_limits_speak_money():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="¥1.00"):
        YuanField(min_value=100).clean("0.99")
    assert YuanField().prepare_value(1250) == "12.50"
    assert format_money(-305) == "-¥3.05"
    with pytest.raises(ValidationError):
        YuanField(max_value=2**31 - 1).clean("1e400")


def test_voucher_price_is_typed_and_listed_in_yuan(client):
    op = OperatorFactory()
    client.force_login(op.user)
    voucher = VoucherFactory(organization=op.organization, price=1250, title="Noon")
    listing = client.get("/admin/coupons/voucher/").content.decode()
    assert "¥12.50" in listing
    form = client.get(f"/admin/coupons/voucher/{voucher.pk}/change/").content.decode()
    assert 'name="price" value="12.50"' in form
    with translation.override("zh-hans"):
        client.cookies["django_language"] = "zh-hans"
        assert "¥12.50" in client.get("/admin/coupons/voucher/").content.decode()


def test_an_order_shows_its_amount_in_yuan_read_only(client):
    op = OperatorFactory()
    order = OrderFactory(voucher=VoucherFactory(organization=op.organization), amount=800)
    client.force_login(op.user)
    assert "¥8.00" in client.get("/admin/orders/order/").content.decode()
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert "¥8.00" in page and 'name="amount"' not in page


def _constraints():
    for model in apps.get_models():
        if model._meta.app_label in {"accounts", "wallet", "coupons", "orders", "seckill", "parking"}:
            for constraint in model._meta.constraints:
                yield model, constraint


def test_a_voucher_benefit_reads_and_is_typed_in_its_unit(client):
    """An amount off is yuan (stored in fen); minutes and percent are whole numbers."""
    op = OperatorFactory()
    client.force_login(op.user)
    amount = VoucherFactory(organization=op.organization, benefit_type="amount", benefit_value=1000, title="Ten")
    VoucherFactory(organization=op.organization, benefit_type="minutes", benefit_value=60, title="Hour")
    VoucherFactory(organization=op.organization, benefit_type="percent", benefit_value=20, title="Fifth")
    listing = client.get("/admin/coupons/voucher/").content.decode()
    assert "¥10.00 off your parking fee" in listing
    assert "60 minutes of parking free" in listing and "20% off your parking fee" in listing
    form = client.get(f"/admin/coupons/voucher/{amount.pk}/change/").content.decode()
    assert 'name="benefit_value" value="10.00"' in form
    data = {
        "title": "Ten",
        "kind": "normal",
        "price": "5.00",
        "benefit_type": "amount",
        "benefit_value": "12.5",
        "per_user_limit": 1,
        "payment_window_seconds": 900,
        "low_stock_threshold": 0,
        "stock": 10,
    }
    res = client.post(f"/admin/coupons/voucher/{amount.pk}/change/", data)
    assert res.status_code == 302, res.content.decode()[:2000]
    amount.refresh_from_db()
    assert amount.benefit_value == 1250
    res = client.post(
        f"/admin/coupons/voucher/{amount.pk}/change/", data | {"benefit_type": "minutes", "benefit_value": "1.5"}
    )
    assert res.status_code == 200 and "benefit_value" in res.context["adminform"].form.errors


def test_a_view_only_page_shows_every_money_field_in_yuan(client):
    """Read-only admins (parking payments) list their money fields on the object's page, in yuan."""
    from parking.services import payments, stays
    from parking.tariffs import TariffRule
    from tests.parking.conftest import ago

    op = OperatorFactory()
    lot = stays.lot_create(organization=op.organization, name="Quay", capacity=5, tariff=TariffRule())
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    payment = payments.payment_refresh(session=session)[1]
    client.force_login(op.user)
    page = client.get(f"/admin/parking/parkingpayment/{payment.pk}/change/")
    fields = [f for fieldset in page.context["adminform"] for line in fieldset for f in line]
    names = [f.field["name"] if isinstance(f.field, dict) else f.field.name for f in fields]
    assert [n for n in names if n.endswith("_yuan")] == ["fee_yuan", "discount_yuan", "amount_yuan"]
    assert f"¥{payment.fee // 100}.{payment.fee % 100:02d}" in page.content.decode()


def test_every_constraint_has_a_message_and_a_code_of_its_own():
    found = list(_constraints())
    assert len(found) > 20
    for model, constraint in found:
        default = models.BaseConstraint.default_violation_error_message
        assert constraint.violation_error_message != default, f"{model.__name__}.{constraint.name}"
        assert constraint.violation_error_code == constraint.name
        with translation.override("en"):
            english = constraint.get_violation_error_message()
        with translation.override("zh-hans"):
            assert constraint.get_violation_error_message() != english, f"{constraint.name} has no Chinese message"


def test_a_bad_tariff_in_the_admin_says_what_is_wrong(client):
    from parking.models import Tariff
    from tests.factories import LotFactory

    op = OperatorFactory()
    lot = LotFactory(organization=op.organization)
    tariff = Tariff(lot=lot, first_price=900, cap_per_24h=500)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as err:
        tariff.full_clean()
    assert "The daily cap cannot be lower than the price of the first period." in str(err.value)
    assert "Constraint" not in str(err.value)
