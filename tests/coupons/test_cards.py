"""Voucher cards on the list: face value, the claimed bar and a countdown."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import SeckillVoucherFactory, VoucherFactory

pytestmark = pytest.mark.django_db


def test_cards_show_face_value_claimed_share_and_a_countdown(client):
    sale = SeckillVoucherFactory(stock=30, initial_stock=40, benefit_type="percent", benefit_value=50)
    sale.ends_at = timezone.now() + timedelta(hours=2)
    sale.save()
    VoucherFactory(stock=None, initial_stock=None, benefit_type="free", title="Free stay")
    html = client.get("/vouchers/").content.decode()
    assert "50% off your parking fee" in html and "One free stay" in html
    assert 'style="width:25%"' in html and "25% claimed · 30 left" in html
    assert f'data-ends="{int(sale.ends_at.timestamp())}000"' in html
    assert html.count('data-testid="claimed-bar"') == 1  # the unlimited voucher has no bar
