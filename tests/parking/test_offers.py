"""Which coupon the pay page preselects (parking.selectors.payment_offers), and the vehicle type a
customer declares or the plate implies on the vehicles page."""

import pytest
from django.utils import timezone

from orders.models import Order
from parking import selectors
from parking.models import Vehicle
from parking.services import stays
from tests.factories import OrderFactory, VoucherFactory

from .conftest import ago

pytestmark = pytest.mark.django_db


def _coupon(user, lot, *, price=100, paid_minutes_ago=10, **benefit):
    voucher = VoucherFactory(organization=lot.organization, lot=lot, price=price, **benefit)
    return OrderFactory(
        user=user, voucher=voucher, status=Order.Status.PAID, amount=price, paid_at=ago(paid_minutes_ago)
    )


def _offers(customer, lot):
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))  # 900 due (the contract's example)
    session.user = customer
    session.save(update_fields=["user"])
    return selectors.payment_offers(customer, session, selectors.snapshot(session, timezone.now()))


def test_the_coupon_saving_the_most_is_the_best(customer, lot):
    small = _coupon(customer, lot, benefit_type="amount", benefit_value=300)
    big = _coupon(customer, lot, benefit_type="percent", benefit_value=50)
    offers = _offers(customer, lot)
    assert [o.coupon.pk for o in offers] == [big.pk, small.pk]
    assert offers[0].best and not offers[1].best
    assert (offers[0].discount, offers[0].amount) == (450, 450)


def test_on_a_tie_the_cheaper_coupon_is_used_and_the_dearer_kept(customer, lot):
    free = _coupon(customer, lot, price=1500, benefit_type="free", benefit_value=0)
    off = _coupon(customer, lot, price=200, benefit_type="amount", benefit_value=900)
    offers = _offers(customer, lot)
    assert offers[0].coupon.pk == off.pk and offers[0].best
    assert offers[1].coupon.pk == free.pk and offers[1].discount == 900 and not offers[1].best


def test_on_a_full_tie_the_coupon_bought_first_is_used(customer, lot):
    newer = _coupon(customer, lot, benefit_type="amount", benefit_value=300, paid_minutes_ago=5)
    older = _coupon(customer, lot, benefit_type="amount", benefit_value=300, paid_minutes_ago=50)
    assert [o.coupon.pk for o in _offers(customer, lot)] == [older.pk, newer.pk]


def test_a_coupon_saving_nothing_is_never_preselected(customer, lot):
    _coupon(customer, lot, benefit_type="minutes", benefit_value=1)  # 100 -> 99 minutes: same price
    offers = _offers(customer, lot)
    assert len(offers) == 1 and offers[0].discount == 0 and not offers[0].best


def test_the_pay_page_preselects_the_best_coupon_and_names_it(client, customer, lot):
    _coupon(customer, lot, benefit_type="amount", benefit_value=300)
    best = _coupon(customer, lot, benefit_type="amount", benefit_value=500)
    session = stays.session_enter(lot=lot, plate="粤B12345", at=ago(100))
    session.user = customer
    session.save(update_fields=["user"])
    client.force_login(customer)
    html = client.get(f"/parking/sessions/{session.pk}/pay/").content.decode()
    assert f'value="{best.pk}" data-amount="400" checked' in html
    assert 'data-testid="best-coupon"' in html and best.voucher.title in html


def test_a_new_energy_plate_is_a_new_energy_vehicle_unless_the_customer_says_otherwise(client, customer):
    client.force_login(customer)
    client.post("/parking/vehicles/", {"plate": "粤BD12345", "vehicle_type": ""})
    client.post("/parking/vehicles/", {"plate": "粤B12345", "vehicle_type": ""})
    client.post("/parking/vehicles/", {"plate": "粤BF23456", "vehicle_type": "large"})
    types = dict(Vehicle.objects.filter(user=customer).values_list("plate", "vehicle_type"))
    assert types == {"粤BD12345": "new_energy", "粤B12345": "small", "粤BF23456": "large"}


def test_the_vehicle_type_is_editable_and_checked(client, customer):
    client.force_login(customer)
    client.post("/parking/vehicles/", {"plate": "粤B12345"})
    vehicle = Vehicle.objects.get(user=customer)
    client.post(f"/parking/vehicles/{vehicle.pk}/type/", {"vehicle_type": "large"})
    vehicle.refresh_from_db()
    assert vehicle.vehicle_type == "large"
    res = client.post(f"/parking/vehicles/{vehicle.pk}/type/", {"vehicle_type": "tank"}, follow=True)
    vehicle.refresh_from_db()
    assert vehicle.vehicle_type == "large" and "Unknown vehicle type" in res.content.decode()
