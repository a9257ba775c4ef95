"""Parking factories (the shared ones live in tests/factories.py)."""

import factory
from django.utils import timezone

from parking.models import ParkingSession, Vehicle
from tests.factories import LotFactory, UserFactory


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    user = factory.SubFactory(UserFactory)
    plate = factory.Sequence(lambda n: f"粤B{n % 100000:05d}")
    auto_pay = False


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ParkingSession

    lot = factory.SubFactory(LotFactory)
    plate = factory.Sequence(lambda n: f"沪A{n % 100000:05d}")
    entered_at = factory.LazyFunction(timezone.now)
