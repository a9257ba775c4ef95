import pytest
from django.core.management import call_command

from parking.models import ParkingPayment, ParkingSession, Vehicle

pytestmark = pytest.mark.django_db


def test_seed_demo_parks_the_demo_driver(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    vehicle = Vehicle.objects.get(plate="粤B12345")
    assert vehicle.user.username == "driver" and vehicle.auto_pay
    left = ParkingSession.objects.get(status="closed")
    assert left.fee == 900  # 110 minutes at the Downtown small-car tariff: 500 + 2 units
    assert ParkingPayment.objects.get(session=left).status == "paid"
    parked = ParkingSession.objects.get(status="open")
    assert parked.lot.name == "Airport P2" and parked.lot.occupancy == 1
    call_command("seed_demo")  # a second run changes nothing
    assert ParkingSession.objects.count() == 2


def test_seed_demo_registers_a_merchant_with_a_quota(django_capture_on_commit_callbacks):
    from parking.models import Merchant
    from wallet.models import Wallet

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    shop = Merchant.objects.get(account__username="teahouse")
    assert shop.account.check_password("teahouse-pass-2024")
    assert [lot.name for lot in shop.lots.all()] == ["Downtown Plaza"]
    assert [(q.quantity, q.issued) for q in shop.quotas.all()] == [(10, 0)]
    assert Wallet.objects.get(user=shop.account).balance == 20000 - 10 * 300
