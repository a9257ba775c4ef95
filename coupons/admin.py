from django.contrib import admin

from parking.scoping import OrganizationScopedAdmin

from .models import Alert, Voucher


@admin.register(Voucher)
class VoucherAdmin(OrganizationScopedAdmin):
    list_display = ("title", "kind", "lot", "price", "stock", "sold_count", "status", "begins_at", "ends_at")
    list_filter = ("kind", "status", "benefit_type")
    search_fields = ("title",)
    readonly_fields = ("sold_count", "initial_stock", "low_stock_alerted_at", "published_at")


@admin.register(Alert)
class AlertAdmin(OrganizationScopedAdmin):
    list_display = ("created_at", "kind", "voucher", "message", "acknowledged_at")
    list_filter = ("kind",)
    readonly_fields = (
        "organization",
        "voucher",
        "kind",
        "message",
        "details",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
    )

    def has_add_permission(self, request, *args):
        return False
