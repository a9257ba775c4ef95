from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from coupons.models import Voucher

from .ids import new_order_id


class OrderQuerySet(models.QuerySet):
    def overdue(self, now: datetime) -> "OrderQuerySet":
        """Unpaid orders whose payment window closed at or before `now` (see Order.is_overdue)."""
        return self.filter(status=Order.Status.PENDING_PAYMENT, expires_at__lte=now)


class Order(models.Model):
    """A customer's order of one voucher. Once paid it is a coupon the customer applies to a fee."""

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
        PAID = "paid", _("Paid")
        USED = "used", _("Used")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Failed")

    class AcceptedBy(models.TextChoices):
        DATABASE = "db", _("Database")
        GATE = "redis", _("Flash-sale gate")

    # Statuses that hold a unit of stock and count against the per-user limit.
    LIVE = (Status.PROCESSING, Status.PENDING_PAYMENT, Status.PAID, Status.USED)

    id = models.UUIDField(primary_key=True, default=new_order_id, editable=False, verbose_name=_("order number"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", verbose_name=_("customer")
    )
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="orders", verbose_name=_("voucher"))
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="orders", verbose_name=_("organization")
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT, verbose_name=_("status")
    )
    amount = models.PositiveIntegerField(help_text=_("Price paid or to pay, minor units."), verbose_name=_("amount"))
    # Copy of voucher.per_user_limit == 1 at purchase time, so the database can enforce
    # "one live order per customer and voucher" with a partial unique constraint.
    single_slot = models.BooleanField(default=True, verbose_name=_("one per customer"))
    # What accepted it: "db" (the database, synchronously) or "redis" (the flash-sale gate in Redis,
    # then written by the asynchronous intake).
    accepted_by = models.CharField(
        max_length=8, choices=AcceptedBy.choices, default=AcceptedBy.DATABASE, verbose_name=_("accepted by")
    )
    created_at = models.DateTimeField(default=None, null=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("pay by"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))
    # True once its unit went back to stock (cancel, expiry, refund): makes the return happen once.
    stock_released = models.BooleanField(default=False, verbose_name=_("unit back in stock"))
    failure_code = models.CharField(max_length=40, blank=True, default="", verbose_name=_("failure code"))
    failure_reason = models.TextField(blank=True, default="", verbose_name=_("failure reason"))

    objects = OrderQuerySet.as_manager()

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "voucher"],
                condition=Q(single_slot=True, status__in=["processing", "pending_payment", "paid", "used"]),
                name="order_one_live_per_user_voucher",
                violation_error_code="order_one_live_per_user_voucher",
                violation_error_message=_("This customer already holds this voucher."),
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="order_status_expires_idx"),
            models.Index(fields=["user", "voucher", "status"], name="order_user_voucher_idx"),
            models.Index(fields=["organization", "status"], name="order_org_status_idx"),
        ]

    def __str__(self) -> str:
        return gettext("Order %(id)s (%(status)s)") % {"id": self.id, "status": self.get_status_display()}

    def save(self, *args, **kwargs):
        if self.created_at is None:
            from django.utils import timezone

            self.created_at = timezone.now()
        super().save(*args, **kwargs)

    @property
    def valid_until(self) -> datetime | None:
        """The end of a paid coupon's use (its voucher's `valid_days` from the payment), or None."""
        days = self.voucher.valid_days
        if days is None or self.paid_at is None:
            return None
        from datetime import timedelta

        return self.paid_at + timedelta(days=days)

    def is_lapsed(self, now: datetime) -> bool:
        """A paid coupon past its validity: it can no longer take anything off a fee."""
        until = self.valid_until
        return self.status == self.Status.PAID and until is not None and until <= now

    def is_overdue(self, now: datetime) -> bool:
        """Unpaid and its payment window closed: it reads `expired` even before the expiry task
        writes it (the one definition of "overdue"; the queryset's `overdue()` says the same)."""
        return self.status == self.Status.PENDING_PAYMENT and self.expires_at is not None and self.expires_at <= now


class OrderEvent(models.Model):
    """Audit trail: every transition of an order, who made it, when and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(
        max_length=20, choices=Order.Status.choices, blank=True, default="", verbose_name=_("from status")
    )
    to_status = models.CharField(max_length=20, choices=Order.Status.choices, verbose_name=_("to status"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.CharField(max_length=255, blank=True, default="", verbose_name=_("reason"))
    # The compensation run that made this transition (a withdrawal), if any.
    compensation_run = models.ForeignKey(
        "CompensationRun",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("compensation run"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_from_status_display() or '-'} → {self.get_to_status_display()}"


class PurchaseLimitRule(models.Model):
    """A rule an organization sets on top of per_user_limit, looking at the customer's history.
    `orders.limits.purchase_rules_check` applies the active ones before any stock is taken."""

    class Kind(models.TextChoices):
        MIN_ACCOUNT_AGE_DAYS = "min_account_age_days", _("Account at least N days old")
        MAX_EXPIRED_ORDERS = "max_expired_orders_30d", _("At most K orders let expire in the window")

    class AppliesTo(models.TextChoices):
        SECKILL = "seckill", _("Flash sales only")
        ALL = "all", _("Every voucher")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="purchase_limit_rules", verbose_name=_("organization")
    )
    kind = models.CharField(max_length=32, choices=Kind.choices, verbose_name=_("rule"))
    value = models.PositiveIntegerField(
        help_text=_("Days for the account-age rule; the number of expired orders still allowed for the other."),
        verbose_name=_("value"),
    )
    window_days = models.PositiveIntegerField(
        default=30,
        help_text=_("How far back expired orders count (expired-orders rule only)."),
        verbose_name=_("window (days)"),
    )
    applies_to = models.CharField(
        max_length=16, choices=AppliesTo.choices, default=AppliesTo.SECKILL, verbose_name=_("applies to")
    )
    active = models.BooleanField(default=True, verbose_name=_("active"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("purchase limit rule")
        verbose_name_plural = _("purchase limit rules")
        ordering = ["organization", "kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(window_days__gte=1),
                name="limit_rule_window_positive",
                violation_error_code="limit_rule_window_positive",
                violation_error_message=_("The window must be at least 1 day."),
            ),
            # A period beyond any calendar cannot be computed (and a typo would stop every sale).
            models.CheckConstraint(
                condition=Q(window_days__lte=3650),
                name="limit_rule_window_at_most_ten_years",
                violation_error_code="limit_rule_window_at_most_ten_years",
                violation_error_message=_("The window can be at most 3650 days."),
            ),
            models.CheckConstraint(
                condition=~Q(kind="min_account_age_days") | Q(value__lte=3650),
                name="limit_rule_account_age_at_most_ten_years",
                violation_error_code="limit_rule_account_age_at_most_ten_years",
                violation_error_message=_("An account age can be at most 3650 days."),
            ),
        ]
        indexes = [models.Index(fields=["organization", "active"], name="limit_rule_org_active_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} = {self.value} ({self.get_applies_to_display()})"


class CompensationRun(models.Model):
    """One run of the compensation action: which orders of a withdrawn voucher it refunded or
    cancelled, who was credited how much, by whom and why. Credits carry the ledger idempotency key
    `compensation:<order id>`, so a second run never pays an order twice."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="compensation_runs", verbose_name=_("organization")
    )
    voucher = models.ForeignKey(
        Voucher, on_delete=models.PROTECT, related_name="compensation_runs", verbose_name=_("voucher")
    )
    amount_per_order = models.PositiveIntegerField(
        help_text=_("Compensation credited per affected order, minor units."), verbose_name=_("compensation per order")
    )
    message = models.CharField(max_length=255, verbose_name=_("message to the customers"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    refunded_count = models.PositiveIntegerField(default=0, verbose_name=_("refunded"))
    cancelled_count = models.PositiveIntegerField(default=0, verbose_name=_("cancelled"))
    compensated_count = models.PositiveIntegerField(default=0, verbose_name=_("compensated"))
    skipped_count = models.PositiveIntegerField(default=0, verbose_name=_("skipped"))
    compensated_total = models.BigIntegerField(default=0, verbose_name=_("compensation total"))
    refunded_total = models.BigIntegerField(default=0, verbose_name=_("refund total"))
    # Per order: what this run did to it ({"<order id>": ["refunded", "compensated"], ...}).
    outcome = models.JSONField(default=dict, blank=True, verbose_name=_("outcome per order"))

    class Meta:
        verbose_name = _("compensation run")
        verbose_name_plural = _("compensation runs")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return gettext("Compensation #%(id)s of %(voucher)s") % {"id": self.pk, "voucher": self.voucher}
