"""The ground floor: organizations, their operators and roles, and the stored answers of
Idempotency-Key requests. Users are Django's own."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    """A company that runs one or more parking lots and sells their coupons."""

    name = models.CharField(max_length=120, unique=True, verbose_name=_("name"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Operator(models.Model):
    """Membership of a user in one organization, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MANAGER = "manager", _("Manager")
        CASHIER = "cashier", _("Cashier")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="operator", verbose_name=_("user")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="operators", verbose_name=_("organization")
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MANAGER, verbose_name=_("role"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")
        ordering = ["organization", "user__username"]

    def __str__(self) -> str:
        return gettext("%(user)s (%(role)s of %(organization)s)") % {
            "user": self.user,
            "role": self.get_role_display(),
            "organization": self.organization,
        }

    @property
    def can_write(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.MANAGER)


class IdempotencyRecord(models.Model):
    """The first answer to an API request sent with an Idempotency-Key (accounts/idempotency.py)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(max_length=200, verbose_name=_("idempotency key"))
    fingerprint = models.CharField(max_length=64, verbose_name=_("request fingerprint"))
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("response status"))
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder, verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"],
                name="idempotency_key_per_user",
                violation_error_code="idempotency_key_per_user",
                violation_error_message=_("This Idempotency-Key was already used for another request."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'pending'})"
