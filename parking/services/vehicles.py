"""Customers' vehicles: registering a plate, auto-pay, removing it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop

from config.errors import DomainError

from ..models import ParkingSession, Tariff, Vehicle
from ..plates import is_new_energy_plate, registration_plate


def default_vehicle_type(plate: str) -> str:
    """The vehicle type a plate implies when nobody said otherwise: new-energy plates are new-energy
    vehicles, every other plate a small car."""
    return Tariff.VehicleType.NEW_ENERGY if is_new_energy_plate(plate) else Tariff.VehicleType.SMALL


def _plate_taken() -> DomainError:
    return DomainError("plate_taken", gettext_noop("This plate is registered to another account."))


def vehicle_register(
    *, user: AbstractBaseUser, plate: str, auto_pay: bool = False, vehicle_type: str | None = None
) -> tuple[Vehicle, bool]:
    """Register a plate to a customer (or update it when it is already theirs). A plate belongs to
    one customer at a time: another customer's plate is 409 `plate_taken`. Open stays of the plate
    that nobody owned yet become this customer's. The plate follows `settings.VEHICLE_PLATE_RULE`."""
    plate = registration_plate(plate)
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().filter(plate=plate).first()
        if vehicle is not None and vehicle.user_id != user.pk:
            raise _plate_taken()
        created = vehicle is None
        if created:
            try:
                with transaction.atomic():
                    vehicle = Vehicle.objects.create(
                        user=user,
                        plate=plate,
                        auto_pay=auto_pay,
                        vehicle_type=vehicle_type or default_vehicle_type(plate),
                    )
            except IntegrityError as exc:
                # Registered concurrently: by this customer (a double submit) it is an update.
                vehicle = Vehicle.objects.select_for_update().filter(plate=plate).first()
                if vehicle is None or vehicle.user_id != user.pk:
                    raise _plate_taken() from exc
                created = False
        if not created:
            vehicle.auto_pay = auto_pay
            if vehicle_type:
                vehicle.vehicle_type = vehicle_type
            vehicle.save(update_fields=["auto_pay", "vehicle_type"])
        ParkingSession.objects.filter(plate=plate, status=ParkingSession.Status.OPEN, user__isnull=True).update(
            user=user, vehicle=vehicle
        )
        if auto_pay:
            _settle_later(user.pk)
    return vehicle, created


def vehicle_set_auto_pay(*, vehicle: Vehicle, auto_pay: bool) -> Vehicle:
    """Turn auto-pay on or off; turning it on settles the owner's open debts (after commit)."""
    with transaction.atomic():
        Vehicle.objects.filter(pk=vehicle.pk).update(auto_pay=auto_pay)
        vehicle.auto_pay = auto_pay
        if auto_pay:
            _settle_later(vehicle.user_id)
    return vehicle


def vehicle_set_type(*, vehicle: Vehicle, vehicle_type: str) -> Vehicle:
    """Change the vehicle type the customer declares (the tariff of later stays follows it)."""
    if vehicle_type not in Tariff.VehicleType.values:
        raise DomainError(
            "validation_error", gettext_noop("Unknown vehicle type."), details={"vehicle_type": [vehicle_type]}
        )
    Vehicle.objects.filter(pk=vehicle.pk).update(vehicle_type=vehicle_type)
    vehicle.vehicle_type = vehicle_type
    return vehicle


def vehicle_remove(*, vehicle: Vehicle) -> None:
    """Free the plate; past stays keep their owner."""
    vehicle.delete()


def _settle_later(user_id: int) -> None:
    from ..tasks import enqueue_settle

    transaction.on_commit(lambda: enqueue_settle(user_id))
