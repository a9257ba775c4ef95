from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class Voucher(models.Model):
    """A parking coupon on sale. `normal` sells while listed; `seckill` is a flash sale with a
    limited stock and a time window."""

    class Kind(models.TextChoices):
        NORMAL = "normal", _("Normal")
        SECKILL = "seckill", _("Flash sale")

    class BenefitType(models.TextChoices):
        AMOUNT = "amount", _("Amount off")
        MINUTES = "minutes", _("Minutes off")
        PERCENT = "percent", _("Percent off")
        FREE = "free", _("Free stay")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LISTED = "listed", _("Listed")
        DELISTED = "delisted", _("Delisted")

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("organization")
    )
    # Lots are parking's (an app above this one): named, never imported (see lot_model()).
    lot = models.ForeignKey(
        "parking.Lot", on_delete=models.PROTECT, null=True, blank=True, related_name="vouchers", verbose_name=_("lot")
    )
    title = models.CharField(max_length=120, verbose_name=_("title"))
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.NORMAL, verbose_name=_("sale type"))
    price = models.PositiveIntegerField(help_text=_("Minor units (fen)."), verbose_name=_("price"))
    benefit_type = models.CharField(max_length=16, choices=BenefitType.choices, verbose_name=_("benefit type"))
    benefit_value = models.PositiveIntegerField(default=0, verbose_name=_("benefit value"))
    # Remaining units; null means unlimited (normal vouchers only).
    stock = models.IntegerField(null=True, blank=True, verbose_name=_("stock"))
    # Units put on sale (stock at publishing plus restocks); the oversell audit compares to it.
    initial_stock = models.IntegerField(null=True, blank=True, verbose_name=_("units put on sale"))
    sold_count = models.PositiveIntegerField(default=0, verbose_name=_("sold"))
    begins_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sale begins"))
    ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sale ends"))
    per_user_limit = models.PositiveIntegerField(default=1, verbose_name=_("per-customer limit"))
    # How long a bought coupon can be used, in days from its payment; empty: until it is used.
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"),
        null=True,
        blank=True,
        help_text=_("Days a bought coupon can be used after its payment. Empty: until it is used."),
    )
    payment_window_seconds = models.PositiveIntegerField(default=900, verbose_name=_("payment window (seconds)"))
    low_stock_threshold = models.PositiveIntegerField(default=0, verbose_name=_("low-stock threshold"))
    # Set when the low-stock alert fired for the current crossing; cleared by a restock.
    low_stock_alerted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("low-stock alert sent at"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT, verbose_name=_("status"))
    published_at = models.DateTimeField(null=True, blank=True, verbose_name=_("published at"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0),
                name="voucher_stock_non_negative",
                violation_error_code="voucher_stock_non_negative",
                violation_error_message=_("Stock cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="seckill") | Q(stock__isnull=False),
                name="voucher_seckill_has_stock",
                violation_error_code="voucher_seckill_has_stock",
                violation_error_message=_("A flash sale needs a stock."),
            ),
            models.CheckConstraint(
                condition=~Q(benefit_type="percent") | (Q(benefit_value__gte=1) & Q(benefit_value__lte=100)),
                name="voucher_percent_in_range",
                violation_error_code="voucher_percent_in_range",
                violation_error_message=_("A percentage off must be between 1 and 100."),
            ),
            models.CheckConstraint(
                condition=Q(begins_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("begins_at")),
                name="voucher_window_ordered",
                violation_error_code="voucher_window_ordered",
                violation_error_message=_("The sale must end after it begins."),
            ),
            models.CheckConstraint(
                condition=Q(per_user_limit__gte=1),
                name="voucher_per_user_limit_positive",
                violation_error_code="voucher_per_user_limit_positive",
                violation_error_message=_("The per-customer limit must be at least 1."),
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self) -> str:
        return self.title

    @property
    def benefit(self) -> dict:
        return {"type": self.benefit_type, "value": self.benefit_value}

    def clean(self) -> None:
        """The contract's rules, as field errors (the admin form and the API share them)."""
        from django.core.exceptions import ValidationError

        errors: dict[str, list[str]] = {}

        def add(field: str, message: str) -> None:
            errors.setdefault(field, []).append(message)

        if self.benefit_type == self.BenefitType.PERCENT and not 1 <= (self.benefit_value or 0) <= 100:
            add("benefit_value", "A percent benefit is between 1 and 100.")
        if self.benefit_type in (self.BenefitType.AMOUNT, self.BenefitType.MINUTES) and (self.benefit_value or 0) < 1:
            add("benefit_value", "The benefit value must be at least 1.")
        if self.stock is not None and self.stock < 0:
            add("stock", "Stock cannot be negative.")
        if self.kind == self.Kind.SECKILL:
            if self.stock is None:
                add("stock", "A flash sale needs a limited stock.")
            if self.begins_at is None:
                add("begins_at", "A flash sale needs a start time.")
            if self.ends_at is None:
                add("ends_at", "A flash sale needs an end time.")
        if self.begins_at and self.ends_at and self.ends_at <= self.begins_at:
            add("ends_at", "The sale must end after it begins.")
        if self.per_user_limit is not None and self.per_user_limit < 1:
            add("per_user_limit", "The per-user limit is at least 1.")
        if self.lot_id is not None and self.organization_id is not None:
            lot_org = lot_model().objects.filter(pk=self.lot_id).values_list("organization_id", flat=True).first()
            if lot_org != self.organization_id:
                add("lot", "This lot does not belong to your organization.")
        if errors:
            raise ValidationError(errors)


def lot_model():
    """The lot model, as the voucher's foreign key knows it (coupons sits below parking)."""
    return Voucher._meta.get_field("lot").related_model


class Alert(models.Model):
    """Something an organization's operators must see: low stock, oversell found, intake failures."""

    class Kind(models.TextChoices):
        LOW_STOCK = "low_stock", _("Low stock")
        OVERSELL = "oversell", _("Oversell detected")
        DRIFT = "drift", _("Gate drift repaired")
        INTAKE_FAILED = "intake_failed", _("Order intake failed")
        MONEY_MISMATCH = "money_mismatch", _("Money reconciliation mismatch")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="alerts", verbose_name=_("organization")
    )
    voucher = models.ForeignKey(
        Voucher, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts", verbose_name=_("voucher")
    )
    kind = models.CharField(max_length=24, choices=Kind.choices, verbose_name=_("type"))
    message = models.TextField(verbose_name=_("message"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    acknowledged_at = models.DateTimeField(null=True, blank=True, verbose_name=_("acknowledged at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"
