from django.conf import settings
from django.db import models
from django.db.models import F, Q


class Organization(models.Model):
    """A company that runs one or more parking lots and sells their coupons."""

    name = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Operator(models.Model):
    """Membership of a user in one organization, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MANAGER = "manager", "Manager"
        CASHIER = "cashier", "Cashier"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="operators")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MANAGER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role} of {self.organization})"

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.MANAGER)


class Lot(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="lots")
    name = models.CharField(max_length=120)
    capacity = models.PositiveIntegerField()
    occupancy = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="lot_name_unique_per_org"),
            models.CheckConstraint(condition=Q(capacity__gte=1), name="lot_capacity_positive"),
            models.CheckConstraint(
                condition=Q(occupancy__gte=0) & Q(occupancy__lte=F("capacity")), name="lot_occupancy_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"


class Tariff(models.Model):
    """The contract's tariff rule for one vehicle type of one lot (see parking/tariffs.py)."""

    class VehicleType(models.TextChoices):
        SMALL = "small", "Small car"
        LARGE = "large", "Large vehicle"
        NEW_ENERGY = "new_energy", "New-energy vehicle"

    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="tariffs")
    vehicle_type = models.CharField(max_length=16, choices=VehicleType.choices, default=VehicleType.SMALL)
    free_minutes = models.PositiveIntegerField(default=15)
    first_minutes = models.PositiveIntegerField(default=60)
    first_price = models.PositiveIntegerField(default=500)
    unit_minutes = models.PositiveIntegerField(default=30)
    unit_price = models.PositiveIntegerField(default=200)
    cap_per_24h = models.PositiveIntegerField(default=3000)

    class Meta:
        ordering = ["lot", "vehicle_type"]
        constraints = [
            models.UniqueConstraint(fields=["lot", "vehicle_type"], name="tariff_one_per_vehicle_type"),
            models.CheckConstraint(condition=Q(unit_minutes__gte=1), name="tariff_unit_minutes_positive"),
            models.CheckConstraint(condition=Q(first_minutes__gte=1), name="tariff_first_minutes_positive"),
            models.CheckConstraint(condition=Q(cap_per_24h__gte=F("first_price")), name="tariff_cap_covers_first"),
        ]

    def __str__(self) -> str:
        return f"{self.lot.name} / {self.get_vehicle_type_display()}"
