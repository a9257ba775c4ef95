import pytest

from tests.factories import VoucherFactory

pytestmark = pytest.mark.django_db


def test_home_lists_vouchers_on_sale_with_links(client):
    on_sale = VoucherFactory(title="Evening pass")
    VoucherFactory(title="Hidden draft", status="draft")
    html = client.get("/").content.decode()
    assert "Evening pass" in html
    assert f'href="/vouchers/{on_sale.pk}/"' in html
    assert "Hidden draft" not in html


def test_home_in_chinese(client):
    client.cookies["django_language"] = "zh-hans"
    html = client.get("/").content.decode()
    assert "暂无在售停车券" in html
