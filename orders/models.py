from django.conf import settings
from django.db import models
from django.db.models import Q

from coupons.models import Voucher
from parking.models import Organization

from .ids import new_order_id


class Order(models.Model):
    """A customer's order of one voucher. Once paid it is a coupon the customer applies to a fee."""

    class Status(models.TextChoices):
        PROCESSING = "processing", "Processing"
        PENDING_PAYMENT = "pending_payment", "Pending payment"
        PAID = "paid", "Paid"
        USED = "used", "Used"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Failed"

    # Statuses that hold a unit of stock and count against the per-user limit.
    LIVE = (Status.PROCESSING, Status.PENDING_PAYMENT, Status.PAID, Status.USED)

    id = models.UUIDField(primary_key=True, default=new_order_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="orders")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING_PAYMENT)
    amount = models.PositiveIntegerField(help_text="Price paid or to pay, minor units.")
    # Copy of voucher.per_user_limit == 1 at purchase time, so the database can enforce
    # "one live order per customer and voucher" with a partial unique constraint.
    single_slot = models.BooleanField(default=True)
    # Which gate accepted it: "db" (synchronous) or "redis" (asynchronous intake).
    gate = models.CharField(max_length=8, default="db")
    created_at = models.DateTimeField(default=None, null=True)
    updated_at = models.DateTimeField(auto_now=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    # True once its unit went back to stock (cancel, expiry, refund): makes the return happen once.
    stock_released = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=40, blank=True, default="")
    failure_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "voucher"],
                condition=Q(single_slot=True, status__in=["processing", "pending_payment", "paid", "used"]),
                name="order_one_live_per_user_voucher",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="order_status_expires_idx"),
            models.Index(fields=["user", "voucher", "status"], name="order_user_voucher_idx"),
            models.Index(fields=["organization", "status"], name="order_org_status_idx"),
        ]

    def __str__(self) -> str:
        return f"Order {self.id} ({self.status})"

    def save(self, *args, **kwargs):
        if self.created_at is None:
            from django.utils import timezone

            self.created_at = timezone.now()
        super().save(*args, **kwargs)


class OrderEvent(models.Model):
    """Audit trail: every transition of an order, who made it, when and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True, default="")
    to_status = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status}"
