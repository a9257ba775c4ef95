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
