from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.money import format_money

from .notes import provider_label


class Wallet(models.Model):
    """One per customer. The balance changes only together with a LedgerEntry (wallet/services.py)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="wallet", verbose_name=_("customer")
    )
    balance = models.BigIntegerField(default=0, verbose_name=_("balance"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("wallet")
        verbose_name_plural = _("wallets")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0),
                name="wallet_balance_non_negative",
                violation_error_code="wallet_balance_non_negative",
                violation_error_message=_("A wallet balance cannot be negative."),
            )
        ]

    def __str__(self) -> str:
        return gettext("Wallet of %(user)s") % {"user": self.user}


class LedgerEntry(models.Model):
    """One money movement. balance_after - balance_before == amount, and the amounts of a wallet
    sum to its balance."""

    class Kind(models.TextChoices):
        TOPUP = "topup", _("Top-up")
        ORDER_PAYMENT = "order_payment", _("Coupon purchase")
        ORDER_REFUND = "order_refund", _("Coupon refund")
        PARKING_PAYMENT = "parking_payment", _("Parking fee")
        COMPENSATION = "compensation", _("Compensation")
        ADJUSTMENT = "adjustment", _("Adjustment")
        MERCHANT_QUOTA = "merchant_quota", _("Merchant quota purchase")
        MERCHANT_REFUND = "merchant_refund", _("Merchant quota refund")

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries", verbose_name=_("wallet"))
    kind = models.CharField(max_length=24, choices=Kind.choices, verbose_name=_("type"))
    amount = models.BigIntegerField(help_text=_("Signed: credits positive, debits negative."), verbose_name=_("amount"))
    balance_before = models.BigIntegerField(verbose_name=_("balance before"))
    balance_after = models.BigIntegerField(verbose_name=_("balance after"))
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        verbose_name=_("order"),
    )
    # What else it belongs to, e.g. "topup:12" or "parking_payment:7".
    reference = models.CharField(max_length=64, blank=True, default="", verbose_name=_("reference"))
    memo = models.CharField(max_length=255, blank=True, default="", verbose_name=_("note"))
    # Unique per wallet: the same logical movement can never be written twice.
    idempotency_key = models.CharField(max_length=200, verbose_name=_("idempotency key"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["wallet", "idempotency_key"],
                name="ledger_idempotency_per_wallet",
                violation_error_code="ledger_idempotency_per_wallet",
                violation_error_message=_("This movement was already recorded."),
            ),
            models.CheckConstraint(
                condition=~Q(amount=0),
                name="ledger_amount_non_zero",
                violation_error_code="ledger_amount_non_zero",
                violation_error_message=_("A movement cannot be zero."),
            ),
            models.CheckConstraint(
                condition=Q(balance_after__gte=0),
                name="ledger_balance_after_non_negative",
                violation_error_code="ledger_balance_after_non_negative",
                violation_error_message=_("A movement cannot leave the balance negative."),
            ),
            models.CheckConstraint(
                condition=Q(balance_after=models.F("balance_before") + models.F("amount")),
                name="ledger_balance_arithmetic",
                violation_error_code="ledger_balance_arithmetic",
                violation_error_message=_("The balance after must be the balance before plus the amount."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {'+' if self.amount > 0 else ''}{format_money(self.amount)}"


class TopUp(models.Model):
    """Money coming in through a payment provider. Credited to the wallet once, when the provider
    confirms it (at once for the sandbox, by webhook for real providers); the provider's transaction
    id is unique per provider, so a repeated confirmation can never credit twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="topups", verbose_name=_("customer")
    )
    amount = models.PositiveBigIntegerField(help_text=_("Minor units."), verbose_name=_("amount"))
    provider = models.CharField(max_length=32, verbose_name=_("payment provider"))
    provider_txn_id = models.CharField(max_length=128, verbose_name=_("provider transaction ID"))
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    ledger_entry = models.OneToOneField(
        LedgerEntry,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="topup",
        verbose_name=_("ledger entry"),
    )
    # The merchant's own id for this charge (a page form's token): unique per customer when given,
    # so a double-submitted form starts one top-up.
    reference = models.CharField(max_length=64, blank=True, default="", verbose_name=_("reference"))
    failure_reason = models.CharField(max_length=255, blank=True, default="", verbose_name=_("failure reason"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("top-up")
        verbose_name_plural = _("top-ups")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_txn_id"],
                name="topup_txn_unique_per_provider",
                violation_error_code="topup_txn_unique_per_provider",
                violation_error_message=_("This payment-provider transaction was already recorded."),
            ),
            models.UniqueConstraint(
                fields=["user", "reference"],
                condition=~Q(reference=""),
                name="topup_reference_unique_per_user",
                violation_error_code="topup_reference_unique_per_user",
                violation_error_message=_("This top-up was already started."),
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=1),
                name="topup_amount_positive",
                violation_error_code="topup_amount_positive",
                violation_error_message=_("A top-up must be at least 0.01."),
            ),
            models.CheckConstraint(
                condition=~Q(status="succeeded") | Q(ledger_entry__isnull=False),
                name="topup_succeeded_has_entry",
                violation_error_code="topup_succeeded_has_entry",
                violation_error_message=_("A succeeded top-up needs its ledger entry."),
            ),
        ]

    def __str__(self) -> str:
        return gettext("Top-up %(provider)s:%(txn)s (%(status)s)") % {
            "provider": provider_label(self.provider),
            "txn": self.provider_txn_id,
            "status": self.get_status_display(),
        }


class MoneyReconciliationReport(models.Model):
    """One run of the money reconciliation (wallet/reconciliation.py): which checks ran, when, and
    whether anything failed to add up. The findings name the rows."""

    started_at = models.DateTimeField(verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    checks = models.JSONField(default=list, help_text=_("Names of the checks that ran."), verbose_name=_("checks"))
    findings_count = models.PositiveIntegerField(default=0, verbose_name=_("findings"))

    class Meta:
        verbose_name = _("money reconciliation")
        verbose_name_plural = _("money reconciliations")
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        # No count here: an operator reads the title too, and sees only their organization's findings.
        return gettext("Money reconciliation #%(id)s of %(at)s") % {
            "id": self.pk,
            "at": f"{self.started_at:%Y-%m-%d %H:%M}",
        }

    @property
    def clean(self) -> bool:
        return self.findings_count == 0


class MoneyReconciliationFinding(models.Model):
    """One thing that does not add up, with the rows involved ("wallet.wallet:12", "orders.order:<uuid>").
    `organization` is set when the rows belong to one (its operators see the finding), empty for a
    customer's wallet or top-up (superusers only)."""

    report = models.ForeignKey(
        MoneyReconciliationReport,
        on_delete=models.CASCADE,
        related_name="findings",
        verbose_name=_("reconciliation run"),
    )
    check_name = models.CharField(max_length=64, verbose_name=_("check"))
    organization = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("organization"),
    )
    message = models.CharField(max_length=500, verbose_name=_("message"))
    rows = models.JSONField(default=list, verbose_name=_("rows involved"))
    details = models.JSONField(default=dict, blank=True, verbose_name=_("details"))

    class Meta:
        verbose_name = _("reconciliation finding")
        verbose_name_plural = _("reconciliation findings")
        ordering = ["report", "check_name", "id"]
        indexes = [models.Index(fields=["organization", "report"], name="money_finding_org_report_idx")]

    def __str__(self) -> str:
        from .reconciliation import check_label

        return f"{check_label(self.check_name)}: {self.message[:80]}"
