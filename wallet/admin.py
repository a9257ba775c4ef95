from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.scoping import ReadOnlyScopedAdmin, organization_of
from config.money import MoneyAdminMixin

from .models import LedgerEntry, MoneyReconciliationFinding, MoneyReconciliationReport, TopUp, Wallet
from .notes import PROVIDERS, ledger_note, provider_label
from .reconciliation import check_label, registered_checks


@admin.display(description=_("note"))
def note(entry) -> str:
    """The ledger note in the reader's language (stored in English, as written)."""
    return ledger_note(entry.memo)


class ProviderFilter(admin.SimpleListFilter):
    title = _("payment provider")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        stored = model_admin.get_queryset(request).order_by().values_list("provider", flat=True).distinct()
        return [(p, provider_label(p)) for p in sorted({*PROVIDERS, *stored})]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset


class CheckFilter(admin.SimpleListFilter):
    title = _("check")
    parameter_name = "check_name"

    def lookups(self, request, model_admin):
        return [(name, check_label(name)) for name in sorted(registered_checks())]

    def queryset(self, request, queryset):
        return queryset.filter(check_name=self.value()) if self.value() else queryset


class SuperuserOnlyAdmin(ReadOnlyScopedAdmin):
    """Wallets and top-ups belong to customers, not to an organization: only superusers see them.
    An operator sees the money of their organization through the ledger entries of its orders."""

    def scope_queryset(self, qs, user):
        return qs if user.is_superuser else qs.none()

    def has_module_permission(self, request):
        return request.user.is_superuser


class LedgerEntryInline(MoneyAdminMixin, admin.TabularInline):
    money_fields = ("amount", "balance_before", "balance_after")
    model = LedgerEntry
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "amount", "balance_before", "balance_after", "order", "reference", note)
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Wallet)
class WalletAdmin(MoneyAdminMixin, SuperuserOnlyAdmin):
    money_fields = ("balance",)
    list_display = ("user", "balance", "updated_at")
    search_fields = ("user__username",)
    readonly_fields = ("user", "balance", "created_at", "updated_at")
    inlines = [LedgerEntryInline]


@admin.register(TopUp)
class TopUpAdmin(MoneyAdminMixin, SuperuserOnlyAdmin):
    money_fields = ("amount",)
    list_display = ("id", "user", "amount", "provider_name", "provider_txn_id", "status", "created_at", "completed_at")
    list_filter = ("status", ProviderFilter)
    search_fields = ("provider_txn_id", "user__username")
    list_select_related = ("user",)

    @admin.display(description=_("payment provider"), ordering="provider")
    def provider_name(self, obj):
        return provider_label(obj.provider)

    def get_fields(self, request, obj=None):
        return [("provider_name" if f == "provider" else f) for f in super().get_fields(request, obj)]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "provider_name"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(MoneyAdminMixin, ReadOnlyScopedAdmin):
    money_fields = ("amount", "balance_before", "balance_after")
    """Read-only. Operators see the entries tied to their organization's orders (payments, refunds,
    compensations); superusers see every entry."""

    organization_path = "order__organization"
    list_display = ("created_at", "wallet", "kind", "amount", "balance_before", "balance_after", "order", note)
    list_filter = ("kind", "created_at")
    search_fields = ("wallet__user__username", "reference", "idempotency_key", "order__id")
    list_select_related = ("wallet__user", "order")
    readonly_fields = [note if f.name == "memo" else f.name for f in LedgerEntry._meta.fields]
    exclude = ("memo",)
    # The balance around an entry is the customer's money across every organization: superusers only.
    PRIVATE = ("balance_before", "balance_after", "balance_before_yuan", "balance_after_yuan")

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.is_superuser else [f for f in shown if f not in self.PRIVATE]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields if f not in self.PRIVATE]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else [f for f in fields if f not in self.PRIVATE]


class FindingInline(admin.TabularInline):
    """A report's findings; an operator sees those about their organization only."""

    model = MoneyReconciliationFinding
    extra = 0
    can_delete = False
    fields = ("check_title", "organization", "message", "rows", "details")
    readonly_fields = fields

    @admin.display(description=_("check"))
    def check_title(self, obj) -> str:
        return check_label(obj.check_name)

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("organization")
        return qs if request.user.is_superuser else qs.filter(organization=organization_of(request.user))

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or organization_of(request.user) is not None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MoneyReconciliationReport)
class MoneyReconciliationReportAdmin(ReadOnlyScopedAdmin):
    """Every run of the daily money reconciliation. Superusers see every finding; an operator sees
    every run (so a quiet list means the runs happened) with the findings about their organization."""

    organization_path = None  # a run spans every organization: its findings are scoped instead
    list_display = ("started_at", "finished_at", "mismatches", "checks_run")
    fields = ("started_at", "finished_at", "checks_run", "mismatches")
    readonly_fields = fields
    inlines = [FindingInline]

    def scope_queryset(self, qs, user):
        if user.is_superuser:
            return qs.annotate(shown=Count("findings"))
        org = organization_of(user)
        if org is None:
            return qs.none()
        return qs.annotate(shown=Count("findings", filter=Q(findings__organization=org)))

    @admin.display(description=_("mismatches"), ordering="shown")
    def mismatches(self, obj) -> int:
        return obj.shown

    @admin.display(description=_("checks"))
    def checks_run(self, obj) -> str:
        return gettext(", ").join(check_label(name) for name in obj.checks)


@admin.register(MoneyReconciliationFinding)
class MoneyReconciliationFindingAdmin(ReadOnlyScopedAdmin):
    """Findings across reports, to search by row ("orders.order:<id>") or check."""

    list_display = ("report", "check_title", "organization", "message")
    list_filter = (CheckFilter,)
    search_fields = ("message", "rows")
    list_select_related = ("report", "organization")
    fields = ("report", "check_title", "organization", "message", "rows", "details")
    readonly_fields = fields

    @admin.display(description=_("check"), ordering="check_name")
    def check_title(self, obj) -> str:
        return check_label(obj.check_name)

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return shown if request.user.is_superuser else [f for f in shown if f != "organization"]
