from django.contrib import admin

from parking.scoping import OrganizationScopedAdmin

from .models import Order, OrderEvent


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "from_status", "to_status", "actor", "reason")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(OrganizationScopedAdmin):
    list_display = ("id", "user", "voucher", "status", "amount", "created_at", "expires_at")
    list_filter = ("status", "gate")
    search_fields = ("id", "user__username", "voucher__title")
    inlines = [OrderEventInline]
    readonly_fields = [f.name for f in Order._meta.fields]

    def has_add_permission(self, request, *args):
        return False
