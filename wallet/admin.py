from django.contrib import admin

from accounts.scoping import ReadOnlyScopedAdmin

from .models import LedgerEntry, TopUp, Wallet


class SuperuserOnlyAdmin(ReadOnlyScopedAdmin):
    """Wallets and top-ups belong to customers, not to an organization: only superusers see them.
    An operator sees the money of their organization through the ledger entries of its orders."""

    def scope_queryset(self, qs, user):
        return qs if user.is_superuser else qs.none()

    def has_module_permission(self, request):
        return request.user.is_superuser


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "amount", "balance_before", "balance_after", "order", "reference", "memo")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(SuperuserOnlyAdmin):
    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username",)
    readonly_fields = ("user", "balance", "created_at", "updated_at")
    inlines = [LedgerEntryInline]


@admin.register(TopUp)
class TopUpAdmin(SuperuserOnlyAdmin):
    list_display = ("id", "user", "amount", "provider", "provider_txn_id", "status", "created_at", "completed_at")
    list_filter = ("status", "provider")
    search_fields = ("provider_txn_id", "user__username")
    list_select_related = ("user",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyScopedAdmin):
    """Read-only. Operators see the entries tied to their organization's orders (payments, refunds,
    compensations); superusers see every entry."""

    organization_path = "order__organization"
    list_display = ("created_at", "wallet", "kind", "amount", "balance_before", "balance_after", "order", "memo")
    list_filter = ("kind", "created_at")
    search_fields = ("wallet__user__username", "reference", "idempotency_key", "order__id")
    list_select_related = ("wallet__user", "order")
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]
    # The balance around an entry is the customer's money across every organization: superusers only.
    PRIVATE = ("balance_before", "balance_after")

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.is_superuser else [f for f in shown if f not in self.PRIVATE]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields if f not in self.PRIVATE]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields if f not in self.PRIVATE]
