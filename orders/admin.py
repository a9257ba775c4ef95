from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.shortcuts import render
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.scoping import (
    OrganizationScopedAdmin,
    ReadOnlyScopedAdmin,
    operator_of,
    organization_of,
    register_scope,
)
from config.api import MAX_MONEY
from config.errors import DomainError, page_message
from config.money import MoneyAdminMixin, YuanField

from .compensation import voucher_compensate
from .models import CompensationRun, Order, OrderEvent, PurchaseLimitRule
from .notes import event_reason
from .selectors import refund_totals, refunds_of

register_scope("orders.order", "organization")
register_scope("orders.purchaselimitrule", "organization")
register_scope("orders.compensationrun", "organization")


@admin.display(description=OrderEvent._meta.get_field("reason").verbose_name)
def reason_shown(event: OrderEvent) -> str:
    return event_reason(event.reason)


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "from_status", "to_status", "actor", reason_shown)
    readonly_fields = fields
    verbose_name_plural = _("Transition history")

    def has_view_permission(self, request, obj=None):
        # The parent admin is scoped to the operator's organization; its history goes with it.
        return request.user.is_superuser or operator_of(request.user) is not None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class CompensationForm(forms.Form):
    amount = YuanField(
        label=_("Compensation per order"),
        min_value=0,
        max_value=MAX_MONEY,
        initial=0,
        help_text=_("Credited to each affected customer's wallet on top of the refund, in yuan (e.g. 5.00)."),
    )
    message = forms.CharField(label=_("Message to the customers"), max_length=255)


@admin.register(Order)
class OrderAdmin(MoneyAdminMixin, OrganizationScopedAdmin):
    money_fields = ("amount",)
    list_display = ("id", "user", "voucher", "status", "amount", "created_at", "expires_at", "paid_at")
    list_filter = (
        "status",
        "accepted_by",
        ("voucher", admin.RelatedOnlyFieldListFilter),
        "created_at",
        "expires_at",
    )
    search_fields = ("id", "user__username", "voucher__title")
    list_select_related = ("user", "voucher")
    date_hierarchy = "created_at"
    inlines = [OrderEventInline]
    readonly_fields = [f.name for f in Order._meta.fields]
    actions = ["withdraw_and_compensate"]

    def has_add_permission(self, request, *args):
        return False  # orders come from purchases only

    def get_urls(self):
        refunds = path("refunds/", self.admin_site.admin_view(self.refunds_view), name="orders_order_refunds")
        return [refunds, *super().get_urls()]

    def refunds_view(self, request):
        """Every refund of the operator's organization: when, which order, who asked, how much."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        org = None if request.user.is_superuser else organization_of(request.user)
        org_id = org.pk if org else None
        page = Paginator(refunds_of(organization_id=org_id), 50).get_page(request.GET.get("page"))
        for event in page.object_list:
            event.reason_shown = event_reason(event.reason)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refunds"),
            "opts": self.model._meta,
            "page": page,
            "totals": refund_totals(organization_id=org_id),
        }
        return TemplateResponse(request, "orders/admin_refunds.html", context)

    def has_change_permission(self, request, obj=None):
        # Every field is read-only; "change" gates the state-changing actions (owners, managers).
        return super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # orders are history: they change state, they are never deleted

    @admin.action(description=_("Withdraw: refund and compensate the selected orders"), permissions=["change"])
    def withdraw_and_compensate(self, request, queryset):
        if "apply" in request.POST:
            form = CompensationForm(request.POST)
            if form.is_valid():
                by_voucher: dict[int, list] = {}
                for oid, vid in queryset.values_list("pk", "voucher_id"):
                    by_voucher.setdefault(vid, []).append(oid)
                for voucher_id, order_ids in sorted(by_voucher.items()):
                    try:
                        run = voucher_compensate(
                            voucher_id=voucher_id,
                            amount=form.cleaned_data["amount"],
                            message=form.cleaned_data["message"],
                            actor=request.user,
                            order_ids=order_ids,
                        )
                    except DomainError as exc:
                        self.message_user(request, page_message(exc), messages.ERROR)
                        continue
                    self.message_user(
                        request,
                        _(
                            "Compensation run #%(run)s: %(refunded)s refunded, %(cancelled)s cancelled, "
                            "%(compensated)s compensated, %(skipped)s skipped."
                        )
                        % {
                            "run": run.pk,
                            "refunded": run.refunded_count,
                            "cancelled": run.cancelled_count,
                            "compensated": run.compensated_count,
                            "skipped": run.skipped_count,
                        },
                        messages.SUCCESS,
                    )
                return None
        else:
            form = CompensationForm()
        return render(
            request,
            "orders/admin_compensate.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Withdraw and compensate"),
                "opts": self.model._meta,
                "orders": queryset.select_related("user", "voucher")[:500],
                "count": queryset.count(),
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "form": form,
                "action": "withdraw_and_compensate",
            },
        )


@admin.register(OrderEvent)
class OrderEventAdmin(ReadOnlyScopedAdmin):
    organization_path = "order__organization"
    list_display = ("created_at", "order", "from_status", "to_status", "actor", reason_shown)
    list_filter = ("to_status", "from_status")
    search_fields = ("order__id", "reason")
    list_select_related = ("order", "actor")
    readonly_fields = [reason_shown if f.name == "reason" else f.name for f in OrderEvent._meta.fields]
    exclude = ("reason",)


@admin.register(PurchaseLimitRule)
class PurchaseLimitRuleAdmin(OrganizationScopedAdmin):
    list_display = ("kind", "value", "window_days", "applies_to", "active", "organization", "created_at")
    list_filter = ("kind", "applies_to", "active")


@admin.register(CompensationRun)
class CompensationRunAdmin(MoneyAdminMixin, ReadOnlyScopedAdmin):
    money_fields = ("amount_per_order", "compensated_total", "refunded_total")
    list_display = (
        "id",
        "voucher",
        "amount_per_order",
        "refunded_count",
        "cancelled_count",
        "compensated_count",
        "skipped_count",
        "compensated_total",
        "actor",
        "created_at",
    )
    list_filter = ("created_at",)
    search_fields = ("voucher__title", "message")
    list_select_related = ("voucher", "actor")
    readonly_fields = [("outcome_text" if f.name == "outcome" else f.name) for f in CompensationRun._meta.fields]
    exclude = ("outcome",)

    @admin.display(description=_("outcome per order"))
    def outcome_text(self, obj):
        rows = ((order, gettext(", ").join(map(_outcome, done))) for order, done in obj.outcome.items())
        return format_html_join("\n", "<div>{}: {}</div>", rows)


_OUTCOMES = {"refunded": _("Refunded"), "cancelled": _("Cancelled"), "compensated": _("Compensated")}


def _outcome(step: str) -> str:
    """One step of a compensation run on an order ("refunded", "skipped (used)") in words."""
    if step.startswith("skipped (") and step.endswith(")"):
        status = step[len("skipped (") : -1]
        return gettext("skipped (%(status)s)") % {"status": dict(Order.Status.choices).get(status, status)}
    return str(_OUTCOMES.get(step, step))
