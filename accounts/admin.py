"""Organizations and their operators in the admin: owners rename their organization and set their
operators' roles (never their own); new operators come from `manage.py create_operator`."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

from .models import Operator, Organization
from .scoping import OrganizationScopedAdmin, operator_of
from .usernames import validate_username


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_path = ""
    list_display = ("name", "created_at")
    search_fields = ("name",)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return _is_owner_or_superuser(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


def _is_owner_or_superuser(request) -> bool:
    if request.user.is_superuser:
        return True
    op = operator_of(request.user)
    return bool(request.user.is_staff and op and op.role == Operator.Role.OWNER)


@admin.register(Operator)
class OperatorAdmin(OrganizationScopedAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        # Owners set the roles of their organization's operators, never who the user is, and never
        # their own role (an organization cannot be left without an owner by a slip).
        if obj is None or request.user.is_superuser:
            return ()
        return ("user", "role") if obj.user_id == request.user.pk else ("user",)

    def has_change_permission(self, request, obj=None):
        return _is_owner_or_superuser(request)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser  # new operators: `manage.py create_operator`


class _UsernameRule:
    """The admin's user forms check the same username rule as the API and the pages."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "username" in self.fields:
            self.fields["username"].validators.append(validate_username)


class UserCreationForm(_UsernameRule, auth_forms.AdminUserCreationForm):
    pass


class UserChangeForm(_UsernameRule, auth_forms.UserChangeForm):
    pass


# A permission's name is stored in English when the tables are made; the admin names the default
# ones (add, change, delete, view) from the model's translated name instead.
PERMISSION_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(perm: Permission) -> str:
    model = perm.content_type.model_class()
    action = perm.codename.split("_", 1)[0]
    if model is None or action not in PERMISSION_ACTIONS or perm.codename != f"{action}_{model._meta.model_name}":
        return str(perm)
    name = PERMISSION_ACTIONS[action] % {"model": model._meta.verbose_name}
    return f"{perm.content_type} | {name}"


class PermissionLabels:
    """Permission choices named in the reader's language."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Permission:
            field.label_from_instance = permission_label
        return field


class UserAdmin(PermissionLabels, auth_admin.UserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm


class GroupAdmin(PermissionLabels, auth_admin.GroupAdmin):
    pass


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), UserAdmin)
admin.site.unregister(Group)
admin.site.register(Group, GroupAdmin)
