"""Tenant isolation in one place: who is an operator of which organization, and the admin mixin
every ModelAdmin of the project uses so an operator sees and changes only their organization."""

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.utils.translation import gettext_noop

from config.errors import DomainError

from .models import Operator, Organization


def operator_of(user) -> Operator | None:
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.operator
    except Operator.DoesNotExist:
        return None


def organization_of(user) -> Organization | None:
    op = operator_of(user)
    return op.organization if op else None


def operator_required(user) -> Operator:
    """The operator membership of `user`, or 403 `permission_denied` for anyone else (the operator
    API's gate; objects of another organization are then 404 through the `*_for_operator` helpers)."""
    op = operator_of(user)
    if op is None:
        raise DomainError("permission_denied", gettext_noop("Operators only."), status=403)
    return op


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Scopes a ModelAdmin to the request user's organization.

    `organization_path` is the lookup from the model to its Organization ("organization",
    "lot__organization", ...; "" for Organization itself). Operators never see the organization
    field: it is filled from their membership on save, so they cannot move an object to another
    organization. Foreign-key choices are scoped too. Superusers see everything.
    Roles: owner and manager may add and change, only owners delete, cashiers read (and run the
    actions an admin explicitly allows them via `cashier_actions`)."""

    organization_path: str = "organization"
    cashier_actions: tuple[str, ...] = ()

    # --- scoping -----------------------------------------------------------------------------
    def scope_queryset(self, qs: QuerySet, user) -> QuerySet:
        if user.is_superuser:
            return qs
        org = organization_of(user)
        if org is None:
            return qs.none()
        if self.organization_path == "":
            return qs.filter(pk=org.pk)
        return qs.filter(**{self.organization_path: org})

    def get_queryset(self, request):
        return self.scope_queryset(super().get_queryset(request), request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and not request.user.is_superuser:
            field.queryset = scope_related(field.queryset, request.user)
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and not request.user.is_superuser:
            field.queryset = scope_related(field.queryset, request.user)
        return field

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.organization_path == "organization":
            exclude.append("organization")
        return exclude

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser and self.organization_path == "organization":
            obj.organization = organization_of(request.user)
        super().save_model(request, obj, form, change)

    # --- permissions by role -------------------------------------------------------------------
    def _operator(self, request):
        return operator_of(request.user)

    def has_module_permission(self, request):
        return request.user.is_superuser or (request.user.is_staff and self._operator(request) is not None)

    def has_view_permission(self, request, obj: Model | None = None):
        return self.has_module_permission(request)

    def has_add_permission(self, request, *args):
        if request.user.is_superuser:
            return True
        op = self._operator(request)
        return bool(request.user.is_staff and op and op.can_write)

    def has_change_permission(self, request, obj: Model | None = None):
        return self.has_add_permission(request)

    def has_delete_permission(self, request, obj: Model | None = None):
        if request.user.is_superuser:
            return True
        op = self._operator(request)
        return bool(request.user.is_staff and op and op.role == Operator.Role.OWNER)

    def get_actions(self, request):
        actions = super().get_actions(request)
        op = self._operator(request)
        if op is not None and not request.user.is_superuser and not op.can_write:
            actions = {k: v for k, v in actions.items() if k in self.cashier_actions}
        return actions


class ReadOnlyScopedAdmin(OrganizationScopedAdmin):
    """Audit data (ledger, transitions): visible in the admin, never edited there."""

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Models a foreign-key dropdown may offer, and how they reach their organization.
# Each app declares its own models with register_scope() in its AppConfig.ready().
_RELATED_SCOPES = {"accounts.organization": ""}


def register_scope(label: str, path: str) -> None:
    """Apps declare how their models reach an organization, for foreign-key dropdowns."""
    _RELATED_SCOPES[label] = path


def scope_related(qs: QuerySet, user) -> QuerySet:
    path = _RELATED_SCOPES.get(qs.model._meta.label_lower)
    if path is None:
        # No declared way to the organization (users, vehicles, wallets, ...): an operator's
        # dropdown offers nothing rather than every organization's rows. Declare one with
        # register_scope() to offer a model's rows.
        return qs.none()
    org = organization_of(user)
    if org is None:
        return qs.none()
    if path == "":
        return qs.filter(pk=org.pk)
    return qs.filter(**{path: org})
