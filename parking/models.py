from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from config.money import format_money
from coupons.models import Voucher

from .plates import PlateKind


class Lot(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="lots", verbose_name=_("organization")
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    capacity = models.PositiveIntegerField(verbose_name=_("capacity"))
    occupancy = models.IntegerField(default=0, verbose_name=_("cars parked"))
    # After a payment, a car that leaves within this many minutes owes nothing more.
    grace_minutes = models.PositiveIntegerField(
        default=15,
        verbose_name=_("grace period (minutes)"),
        help_text=_("After a payment, a car that leaves within this many minutes owes nothing more."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="lot_name_unique_per_org",
                violation_error_code="lot_name_unique_per_org",
                violation_error_message=_("Your organization already has a lot with this name."),
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1),
                name="lot_capacity_positive",
                violation_error_code="lot_capacity_positive",
                violation_error_message=_("The capacity must be at least 1."),
            ),
            models.CheckConstraint(
                condition=Q(occupancy__gte=0) & Q(occupancy__lte=F("capacity")),
                name="lot_occupancy_in_range",
                violation_error_code="lot_occupancy_in_range",
                violation_error_message=_("Occupancy must be between 0 and the capacity."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organization})"


class Tariff(models.Model):
    """The contract's tariff rule for one vehicle type of one lot (see parking/tariffs.py)."""

    class VehicleType(models.TextChoices):
        SMALL = "small", _("Small car")
        LARGE = "large", _("Large vehicle")
        NEW_ENERGY = "new_energy", _("New-energy vehicle")

    lot = models.ForeignKey(Lot, on_delete=models.CASCADE, related_name="tariffs", verbose_name=_("lot"))
    vehicle_type = models.CharField(
        max_length=16, choices=VehicleType.choices, default=VehicleType.SMALL, verbose_name=_("vehicle type")
    )
    free_minutes = models.PositiveIntegerField(default=15, verbose_name=_("free minutes"))
    first_minutes = models.PositiveIntegerField(default=60, verbose_name=_("first period (minutes)"))
    first_price = models.PositiveIntegerField(default=500, verbose_name=_("first period price"))
    unit_minutes = models.PositiveIntegerField(default=30, verbose_name=_("further period (minutes)"))
    unit_price = models.PositiveIntegerField(default=200, verbose_name=_("price per further period"))
    cap_per_24h = models.PositiveIntegerField(default=3000, verbose_name=_("cap per 24 hours"))
    # Optional night rate: units starting between night_start and night_end (local time, may wrap
    # past midnight) cost night_unit_price, capped at night_cap per 24-hour window.
    night_start = models.TimeField(null=True, blank=True, verbose_name=_("night starts"))
    night_end = models.TimeField(null=True, blank=True, verbose_name=_("night ends"))
    night_unit_price = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("night price per period"))
    night_cap = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("night cap"))

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["lot", "vehicle_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "vehicle_type"],
                name="tariff_one_per_vehicle_type",
                violation_error_code="tariff_one_per_vehicle_type",
                violation_error_message=_("This lot already has a tariff for this vehicle type."),
            ),
            models.CheckConstraint(
                condition=Q(unit_minutes__gte=1),
                name="tariff_unit_minutes_positive",
                violation_error_code="tariff_unit_minutes_positive",
                violation_error_message=_("Each further period must last at least 1 minute."),
            ),
            models.CheckConstraint(
                condition=Q(first_minutes__gte=1),
                name="tariff_first_minutes_positive",
                violation_error_code="tariff_first_minutes_positive",
                violation_error_message=_("The first period must last at least 1 minute."),
            ),
            models.CheckConstraint(
                condition=Q(cap_per_24h__gte=F("first_price")),
                name="tariff_cap_covers_first",
                violation_error_code="tariff_cap_covers_first",
                violation_error_message=_("The daily cap cannot be lower than the price of the first period."),
            ),
            models.CheckConstraint(
                condition=(Q(night_start__isnull=True) & Q(night_end__isnull=True) & Q(night_unit_price__isnull=True))
                | (
                    Q(night_start__isnull=False)
                    & Q(night_end__isnull=False)
                    & Q(night_unit_price__isnull=False)
                    & ~Q(night_start=F("night_end"))
                ),
                name="tariff_night_complete",
                violation_error_code="tariff_night_complete",
                violation_error_message=_("A night rate needs a start, an end different from the start, and a price."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lot.name} / {self.get_vehicle_type_display()}"

    @property
    def rule(self):
        from .tariffs import NightRate, TariffRule

        night = None
        if self.night_start is not None and self.night_end is not None and self.night_unit_price is not None:
            night = NightRate(
                start=self.night_start, end=self.night_end, unit_price=self.night_unit_price, cap=self.night_cap
            )
        return TariffRule(
            free_minutes=self.free_minutes,
            first_minutes=self.first_minutes,
            first_price=self.first_price,
            unit_minutes=self.unit_minutes,
            unit_price=self.unit_price,
            cap_per_24h=self.cap_per_24h,
            night=night,
        )

    @staticmethod
    def fields_from_rule(rule) -> dict:
        night = rule.night
        return {
            "free_minutes": rule.free_minutes,
            "first_minutes": rule.first_minutes,
            "first_price": rule.first_price,
            "unit_minutes": rule.unit_minutes,
            "unit_price": rule.unit_price,
            "cap_per_24h": rule.cap_per_24h,
            "night_start": night.start if night else None,
            "night_end": night.end if night else None,
            "night_unit_price": night.unit_price if night else None,
            "night_cap": night.cap if night else None,
        }


class Vehicle(models.Model):
    """A customer's car. A plate belongs to one customer at a time (unique)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vehicles", verbose_name=_("customer")
    )
    plate = models.CharField(max_length=16, unique=True, verbose_name=_("plate"))
    vehicle_type = models.CharField(
        max_length=16,
        choices=Tariff.VehicleType.choices,
        default=Tariff.VehicleType.SMALL,
        verbose_name=_("vehicle type"),
    )
    auto_pay = models.BooleanField(default=False, verbose_name=_("auto-pay"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["user", "plate"]

    def __str__(self) -> str:
        return self.plate


class ParkingSession(models.Model):
    """A stay of one plate in one lot, from the entry camera to the exit camera."""

    class Status(models.TextChoices):
        OPEN = "open", _("Parked")
        CLOSED = "closed", _("Left")

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("lot"))
    plate = models.CharField(
        max_length=16, verbose_name=_("plate")
    )  # as the camera read it (parking/plates.py: camera_plate)
    # Anything but a mainland civil plate (embassy, military, Hong Kong, foreign...) is for the
    # operator's eye: the barrier opens all the same.
    plate_kind = models.CharField(
        max_length=16, choices=PlateKind.choices, default=PlateKind.MAINLAND, verbose_name=_("plate kind")
    )
    vehicle_type = models.CharField(
        max_length=16,
        choices=Tariff.VehicleType.choices,
        default=Tariff.VehicleType.SMALL,
        verbose_name=_("vehicle type"),
    )
    # The registered vehicle and its owner at entry (or when the plate was registered while parked).
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions", verbose_name=_("vehicle")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parking_sessions",
        verbose_name=_("customer"),
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN, verbose_name=_("status"))
    # The tariff in force when the car entered (parking/tariffs.py JSON): changing a lot's tariff
    # never reprices a stay already under way. Null for stays recorded before tariffs were kept.
    tariff = models.JSONField(null=True, blank=True, verbose_name=_("tariff at entry"))
    entered_at = models.DateTimeField(verbose_name=_("entered at"))
    exited_at = models.DateTimeField(null=True, blank=True, verbose_name=_("left at"))
    # Tariff price of the whole stay, fixed at exit (before coupons).
    fee = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("fee"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("parking session")
        verbose_name_plural = _("parking sessions")
        ordering = ["-entered_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lot", "plate"],
                condition=Q(status="open"),
                name="session_one_open_per_plate_lot",
                violation_error_code="session_one_open_per_plate_lot",
                violation_error_message=_("This car is already parked in this lot."),
            ),
            models.CheckConstraint(
                condition=Q(exited_at__isnull=True) | Q(exited_at__gte=F("entered_at")),
                name="session_exit_after_entry",
                violation_error_code="session_exit_after_entry",
                violation_error_message=_("The exit cannot be before the entry."),
            ),
            models.CheckConstraint(
                condition=(Q(status="open") & Q(exited_at__isnull=True) & Q(fee__isnull=True))
                | (Q(status="closed") & Q(exited_at__isnull=False) & Q(fee__isnull=False)),
                name="session_status_consistent",
                violation_error_code="session_status_consistent",
                violation_error_message=_("A closed stay needs an exit time; an open one has none."),
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-entered_at"], name="session_user_idx"),
            models.Index(fields=["lot", "status"], name="session_lot_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.plate} @ {self.lot.name}"

    @property
    def plate_unusual(self) -> bool:
        return self.plate_kind != PlateKind.MAINLAND


class ParkingPayment(models.Model):
    """What a session owes or paid for a slice of its stay. `fee` is the tariff price of the slice
    (the stay up to `priced_until` minus what earlier paid payments covered), `discount` what a
    coupon took off, `amount = fee - discount` what the wallet is charged. A session has at most one
    unpaid payment (refreshed while the car is parked) and any number of paid ones."""

    class Status(models.TextChoices):
        UNPAID = "unpaid", _("Unpaid")
        PAID = "paid", _("Paid")

    class Method(models.TextChoices):
        WALLET = "wallet", _("Wallet")
        AUTO = "auto", _("Auto-debit")
        COUPON = "coupon", _("Coupon only")

    session = models.ForeignKey(
        ParkingSession, on_delete=models.PROTECT, related_name="payments", verbose_name=_("parking session")
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.UNPAID, verbose_name=_("status"))
    fee = models.PositiveIntegerField(verbose_name=_("fee"))
    discount = models.PositiveIntegerField(default=0, verbose_name=_("discount"))
    amount = models.PositiveIntegerField(verbose_name=_("amount charged"))
    priced_until = models.DateTimeField(verbose_name=_("priced until"))
    coupon = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parking_payment",
        verbose_name=_("coupon"),
    )
    method = models.CharField(
        max_length=8, choices=Method.choices, blank=True, default="", verbose_name=_("payment method")
    )
    ledger_entry = models.OneToOneField(
        "wallet.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="parking_payment",
        verbose_name=_("ledger entry"),
    )
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("parking payment")
        verbose_name_plural = _("parking payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["session"],
                condition=Q(status="unpaid"),
                name="payment_one_unpaid_per_session",
                violation_error_code="payment_one_unpaid_per_session",
                violation_error_message=_("This stay already has an unpaid payment."),
            ),
            models.CheckConstraint(
                condition=Q(amount=F("fee") - F("discount")),
                name="payment_amount_arithmetic",
                violation_error_code="payment_amount_arithmetic",
                violation_error_message=_("The amount must be the fee less the discount."),
            ),
            models.CheckConstraint(
                condition=Q(status="unpaid") | Q(paid_at__isnull=False),
                name="payment_paid_has_time",
                violation_error_code="payment_paid_has_time",
                violation_error_message=_("A paid payment needs the time it was paid."),
            ),
        ]
        indexes = [models.Index(fields=["status", "paid_at"], name="payment_status_paid_idx")]

    def __str__(self) -> str:
        return gettext("Parking payment %(id)s (%(status)s)") % {"id": self.pk, "status": self.get_status_display()}


# --- partnerships: another organization's coupons honoured at some of our lots --------------------


class Partnership(models.Model):
    """Organization `offering` (A) honours the coupons of organization `partner` (B) at some of its
    lots, on fixed terms: which benefit types, what B owes A per redemption (`settlement_price`),
    a validity window and a monthly cap. A offers; B accepts or declines; either side ends it.
    Terms never change once offered: different terms are a new offer. After an end, coupons paid
    before it keep working until `valid_until`."""

    class Status(models.TextChoices):
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        ENDED = "ended", _("Ended")

    offering = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="partnerships_offered",
        verbose_name=_("offering organization"),
    )
    partner = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        related_name="partnerships_received",
        verbose_name=_("partner organization"),
    )
    lots = models.ManyToManyField(Lot, related_name="partnerships", verbose_name=_("lots"))
    # A list of coupons.Voucher.BenefitType values (JSON: the embedded SQLite default has no arrays).
    benefit_types = models.JSONField(default=list, verbose_name=_("benefit types"))
    settlement_price = models.PositiveIntegerField(
        help_text=_("What the partner owes per redemption, in fen."), verbose_name=_("settlement price")
    )
    valid_from = models.DateTimeField(verbose_name=_("valid from"))
    valid_until = models.DateTimeField(verbose_name=_("valid until"))
    monthly_cap = models.PositiveIntegerField(
        help_text=_("Redemptions honoured per calendar month."), verbose_name=_("monthly cap")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OFFERED, verbose_name=_("status"))
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("offered by"),
    )
    responded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("answered at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))
    ended_by = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("ended by")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("partnership")
        verbose_name_plural = _("partnerships")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(offering=F("partner")),
                name="partnership_two_organizations",
                violation_error_code="partnership_two_organizations",
                violation_error_message=_("An organization cannot partner with itself."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=F("valid_from")),
                name="partnership_window_ordered",
                violation_error_code="partnership_window_ordered",
                violation_error_message=_("The partnership must end after it starts."),
            ),
            models.CheckConstraint(
                condition=Q(monthly_cap__gte=1),
                name="partnership_cap_positive",
                violation_error_code="partnership_cap_positive",
                violation_error_message=_("The monthly cap must be at least 1."),
            ),
            models.CheckConstraint(
                condition=(Q(status="ended") & Q(ended_at__isnull=False))
                | (~Q(status="ended") & Q(ended_at__isnull=True)),
                name="partnership_ended_has_time",
                violation_error_code="partnership_ended_has_time",
                violation_error_message=_("An ended partnership has an end time, and only an ended one."),
            ),
            models.UniqueConstraint(
                fields=["offering", "partner"],
                condition=Q(status__in=["offered", "accepted"]),
                name="partnership_one_live_per_pair",
                violation_error_code="partnership_one_live_per_pair",
                violation_error_message=_("These two organizations already have an open or accepted partnership."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("%(offering)s honours %(partner)s (#%(id)s)") % {
            "offering": self.offering,
            "partner": self.partner,
            "id": self.pk,
        }


class PartnershipMonth(models.Model):
    """The redemptions of one partnership in one calendar month (local time): the cap's counter.
    A redemption moves it by a conditional update (`redemptions < cap`); the constraint makes an
    overshoot impossible whatever the code does."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, related_name="months", verbose_name=_("partnership")
    )
    month = models.DateField(help_text=_("The first day of the month."), verbose_name=_("month"))
    cap = models.PositiveIntegerField(verbose_name=_("cap"))
    redemptions = models.PositiveIntegerField(default=0, verbose_name=_("redemptions"))
    amount = models.PositiveBigIntegerField(
        default=0, help_text=_("Settlement owed for the month, in fen."), verbose_name=_("settlement amount")
    )

    class Meta:
        verbose_name = _("partnership month")
        verbose_name_plural = _("partnership months")
        ordering = ["partnership", "-month"]
        constraints = [
            models.UniqueConstraint(
                fields=["partnership", "month"],
                name="partnership_month_unique",
                violation_error_code="partnership_month_unique",
                violation_error_message=_("This partnership already has a counter for this month."),
            ),
            models.CheckConstraint(
                condition=Q(redemptions__lte=F("cap")),
                name="partnership_month_within_cap",
                violation_error_code="partnership_month_within_cap",
                violation_error_message=_("This partnership's monthly cap is reached."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partnership} {self.month:%Y-%m}: {self.redemptions}/{self.cap}"


class SettlementEntry(models.Model):
    """One side of a redemption's settlement between two organizations (double entry): the lot's
    organization is owed `+price`, the coupon's organization owes `-price`; the two entries of a
    payment sum to zero. Written in the transaction that pays the fee, so both exist or neither."""

    partnership = models.ForeignKey(
        Partnership, on_delete=models.PROTECT, related_name="entries", verbose_name=_("partnership")
    )
    payment = models.ForeignKey(
        ParkingPayment, on_delete=models.PROTECT, related_name="settlement_entries", verbose_name=_("parking payment")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="settlement_entries", verbose_name=_("organization")
    )
    counterparty = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="+", verbose_name=_("counterparty")
    )
    amount = models.BigIntegerField(
        help_text=_("Fen: positive is owed to this organization, negative owed by it."), verbose_name=_("amount")
    )
    month = models.DateField(
        help_text=_("The first day of the redemption's month (local time)."), verbose_name=_("month")
    )
    coupon = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+", verbose_name=_("coupon"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("settlement entry")
        verbose_name_plural = _("settlement entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "organization"],
                name="settlement_one_side_per_payment",
                violation_error_code="settlement_one_side_per_payment",
                violation_error_message=_("This payment already has a settlement entry for this organization."),
            ),
            models.CheckConstraint(
                condition=~Q(organization=F("counterparty")),
                name="settlement_two_organizations",
                violation_error_code="settlement_two_organizations",
                violation_error_message=_("A settlement is between two different organizations."),
            ),
        ]
        indexes = [models.Index(fields=["organization", "partnership", "month"], name="settlement_statement_idx")]

    def __str__(self) -> str:
        sign = "+" if self.amount > 0 else ""
        return f"{self.organization} {sign}{format_money(self.amount)} ({self.month:%Y-%m})"


# --- merchants: shops that buy parking for their customers ----------------------------------------


class Merchant(models.Model):
    """A shop or a mall registered by an organization, tied to some of its lots. Its `account` is
    the user the merchant logs in with (portal and API) and whose wallet pays for its quotas. The
    organization sets the benefit a coupon gives and what the merchant pays per coupon."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="merchants", verbose_name=_("organization")
    )
    name = models.CharField(max_length=120, verbose_name=_("name"))
    lots = models.ManyToManyField(Lot, related_name="merchants", verbose_name=_("lots"))
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="merchant", verbose_name=_("login account")
    )
    # The coupon the merchant gives away and its unit price.
    benefit_type = models.CharField(
        max_length=16, choices=Voucher.BenefitType.choices, default="minutes", verbose_name=_("benefit type")
    )
    benefit_value = models.PositiveIntegerField(default=120, verbose_name=_("benefit value"))
    unit_price = models.PositiveIntegerField(
        help_text=_("What the merchant pays per coupon, in fen."), verbose_name=_("price per coupon")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["organization", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="merchant_name_unique_per_org",
                violation_error_code="merchant_name_unique_per_org",
                violation_error_message=_("Your organization already has a merchant with this name."),
            ),
            models.CheckConstraint(
                condition=Q(benefit_type__in=["amount", "minutes", "percent", "free"]),
                name="merchant_benefit_known",
                violation_error_code="merchant_benefit_known",
                violation_error_message=_("Choose a known benefit type."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class MerchantMember(models.Model):
    """A merchant's staff user besides its `account` (the owner): a manager may buy quotas and
    issue coupons, a clerk only issues them. The wallet stays the merchant's (its account's)."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager")
        CLERK = "clerk", _("Clerk")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="members", verbose_name=_("merchant"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="merchant_membership", verbose_name=_("user")
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.CLERK, verbose_name=_("role"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("merchant staff member")
        verbose_name_plural = _("merchant staff members")
        ordering = ["merchant", "user__username"]

    def __str__(self) -> str:
        return gettext("%(user)s (%(role)s of %(merchant)s)") % {
            "user": self.user,
            "role": self.get_role_display(),
            "merchant": self.merchant,
        }


class MerchantQuota(models.Model):
    """N coupons a merchant bought, valid from `valid_from` until `valid_until`, paid from its
    wallet (`purchase_entry`). `issued` counts the coupons handed out and never passes `quantity`
    (conditional UPDATE plus a constraint); `redeemed` those applied to a fee. At the end of the
    period the unredeemed ones are refunded to the wallet once (`refund_entry`)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="quotas", verbose_name=_("merchant"))
    benefit_type = models.CharField(max_length=16, choices=Voucher.BenefitType.choices, verbose_name=_("benefit type"))
    benefit_value = models.PositiveIntegerField(verbose_name=_("benefit value"))
    quantity = models.PositiveIntegerField(verbose_name=_("quantity"))
    unit_price = models.PositiveIntegerField(verbose_name=_("price per coupon"))
    issued = models.PositiveIntegerField(default=0, verbose_name=_("issued"))
    redeemed = models.PositiveIntegerField(default=0, verbose_name=_("redeemed"))
    valid_from = models.DateTimeField(verbose_name=_("valid from"))
    valid_until = models.DateTimeField(verbose_name=_("valid until"))
    purchase_entry = models.OneToOneField(
        "wallet.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("purchase entry"),
    )
    refunded_at = models.DateTimeField(null=True, blank=True, verbose_name=_("refunded at"))
    refund_amount = models.PositiveIntegerField(default=0, verbose_name=_("refund amount"))
    refund_entry = models.OneToOneField(
        "wallet.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("refund entry"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("merchant quota")
        verbose_name_plural = _("merchant quotas")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1),
                name="quota_quantity_positive",
                violation_error_code="quota_quantity_positive",
                violation_error_message=_("A quota holds at least one coupon."),
            ),
            models.CheckConstraint(
                condition=Q(issued__lte=F("quantity")),
                name="quota_never_overspent",
                violation_error_code="quota_never_overspent",
                violation_error_message=_("This quota has no coupons left to issue."),
            ),
            models.CheckConstraint(
                condition=Q(redeemed__lte=F("issued")),
                name="quota_redeemed_within_issued",
                violation_error_code="quota_redeemed_within_issued",
                violation_error_message=_("A quota cannot have more coupons used than issued."),
            ),
            models.CheckConstraint(
                condition=Q(valid_until__gt=F("valid_from")),
                name="quota_window_ordered",
                violation_error_code="quota_window_ordered",
                violation_error_message=_("The quota must end after it starts."),
            ),
        ]
        indexes = [models.Index(fields=["refunded_at", "valid_until"], name="quota_refund_due_idx")]

    def __str__(self) -> str:
        return f"{self.merchant}: {self.issued}/{self.quantity}"

    @property
    def price(self) -> int:
        return self.quantity * self.unit_price


class MerchantIssue(models.Model):
    """One coupon a merchant handed out: to a plate (it applies itself at that car's next exit
    from one of the merchant's lots) or as a claim link (the driver opens it and names a plate)."""

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        EXPIRED = "expired", _("Expired")

    quota = models.ForeignKey(MerchantQuota, on_delete=models.PROTECT, related_name="issues", verbose_name=_("quota"))
    plate = models.CharField(max_length=16, blank=True, default="", verbose_name=_("plate"))
    claim_token = models.CharField(max_length=43, unique=True, null=True, blank=True, verbose_name=_("claim token"))
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ISSUED, verbose_name=_("status"))
    payment = models.OneToOneField(
        ParkingPayment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merchant_issue",
        verbose_name=_("parking payment"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        verbose_name = _("merchant coupon")
        verbose_name_plural = _("merchant coupons")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(plate="") | Q(claim_token__isnull=False),
                name="issue_has_plate_or_claim",
                violation_error_code="issue_has_plate_or_claim",
                violation_error_message=_("A coupon is issued to a plate or as a claim link."),
            ),
            models.CheckConstraint(
                condition=(Q(status="used") & Q(payment__isnull=False)) | (~Q(status="used") & Q(payment__isnull=True)),
                name="issue_used_has_payment",
                violation_error_code="issue_used_has_payment",
                violation_error_message=_("A used coupon names the payment it paid, and only a used one."),
            ),
        ]
        indexes = [models.Index(fields=["plate", "status"], name="issue_plate_status_idx")]

    def __str__(self) -> str:
        return f"{self.quota.merchant}: {self.plate or gettext('claim link')} ({self.get_status_display()})"
