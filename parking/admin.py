from django.contrib import admin

from .models import Lot, Operator, Organization, Tariff
from .scoping import OrganizationScopedAdmin


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_path = ""
    list_display = ("name", "created_at")
    search_fields = ("name",)

    def has_add_permission(self, request, *args):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(Operator)
class OperatorAdmin(OrganizationScopedAdmin):
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        # An operator may change roles inside the organization, never who the user is.
        return ("user",) if obj is not None and not request.user.is_superuser else ()

    def has_add_permission(self, request, *args):
        return request.user.is_superuser  # new operators: `manage.py create_operator`


class TariffInline(admin.TabularInline):
    model = Tariff
    extra = 0


@admin.register(Lot)
class LotAdmin(OrganizationScopedAdmin):
    list_display = ("name", "organization", "capacity", "occupancy")
    search_fields = ("name",)
    readonly_fields = ("occupancy",)
    inlines = [TariffInline]
