from django import forms
from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.scoping import OrganizationScopedAdmin, organization_of
from config.errors import DomainError, page_message
from config.money import MoneyAdminMixin

from . import services
from .benefits import benefit_form, benefit_text
from .models import Alert, Voucher


class RestockForm(forms.Form):
    quantity = forms.IntegerField(label=_("Units to add"), min_value=1, max_value=services.MAX_STOCK)


@admin.register(Voucher)
class VoucherAdmin(MoneyAdminMixin, OrganizationScopedAdmin):
    money_fields = ("price",)
    list_display = ("title", "kind", "lot", "price", "benefit", "stock", "sold_count", "status", "sale_window")
    list_filter = ("kind", "status", "benefit_type")
    search_fields = ("title",)
    readonly_fields = ("status", "sold_count", "initial_stock", "low_stock_alerted_at", "published_at")
    actions = ("publish", "delist", "restock")

    @admin.display(description=_("Sale window"), ordering="begins_at")
    def sale_window(self, obj):
        from django.utils import timezone

        def short(at):
            return timezone.localtime(at).strftime("%m-%d %H:%M") if at else "…"

        return "—" if not (obj.begins_at or obj.ends_at) else f"{short(obj.begins_at)} → {short(obj.ends_at)}"

    @admin.display(description=_("benefit"), ordering="benefit_type")
    def benefit(self, obj):
        return benefit_text(obj.benefit_type, obj.benefit_value)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = benefit_form(super().get_form(request, obj, change=change, **kwargs))
        org = organization_of(request.user)

        class ScopedForm(form):
            def clean(self):
                cleaned = super().clean()
                # The model's rules (lot of the organization) need it before the admin saves.
                if self.instance.organization_id is None and org is not None:
                    self.instance.organization = org
                published = self.instance.pk is not None and self.instance.status != Voucher.Status.DRAFT
                if published and cleaned.get("per_user_limit") == 1 and self.instance.per_user_limit > 1:
                    self.add_error(
                        "per_user_limit",
                        _(
                            "The per-user limit of a published voucher cannot drop to 1; "
                            "delist it and publish a new one."
                        ),
                    )
                return cleaned

        return ScopedForm

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status != Voucher.Status.DRAFT:
            # Published: the kind stays, and stock changes go through a restock.
            fields += ["kind", "stock"]
            if request.user.is_superuser:
                fields.append("organization")
        return fields

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            obj.organization = organization_of(request.user)
        if not change:
            obj.initial_stock = obj.stock
            obj.status = Voucher.Status.DRAFT
            super().save_model(request, obj, form, change)
            self.message_user(request, _("Saved as a draft: use the “Publish” action to put it on sale."))
            return
        if obj.status == Voucher.Status.DRAFT:
            # Nothing sells from a draft: the row is saved whole, its units put on sale follow its stock.
            obj.initial_stock = obj.stock
            super().save_model(request, obj, form, change)
            return
        # A published voucher sells while the form is open: only the changed fields are written,
        # by the service, on the row it locks (saving `obj` whole would write back the stock read
        # when the form loaded, undoing every purchase since: an oversell). The gate follows.
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in services.EDITABLE}
        try:
            services.voucher_update(voucher_id=obj.pk, data=data)
        except DomainError as exc:
            self.message_user(request, f"{obj}: {page_message(exc)} {exc.details}", level=messages.ERROR)

    @admin.action(description=_("Publish (put on sale; prepares the flash-sale gate)"))
    def publish(self, request, queryset):
        done = 0
        for voucher in queryset:
            try:
                services.voucher_publish(voucher_id=voucher.pk)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{voucher}: {page_message(exc)} {exc.details}", level=messages.ERROR)
        if done:
            self.message_user(request, _("%(n)s voucher(s) published.") % {"n": done}, level=messages.SUCCESS)

    @admin.action(description=_("Restock (add units on sale)"), permissions=["change"])
    def restock(self, request, queryset):
        """Put more units of published vouchers on sale, through coupons.services.voucher_restock (the
        database and the flash-sale gate move together)."""
        if "apply" in request.POST:
            form = RestockForm(request.POST)
            if form.is_valid():
                for voucher in queryset.order_by("pk"):
                    try:
                        fresh = services.voucher_restock(voucher_id=voucher.pk, quantity=form.cleaned_data["quantity"])
                    except DomainError as exc:
                        self.message_user(request, f"{voucher.title}: {page_message(exc)}", level=messages.ERROR)
                    else:
                        self.message_user(
                            request,
                            _("%(title)s: %(n)s units added, %(stock)s left.")
                            % {"title": voucher.title, "n": form.cleaned_data["quantity"], "stock": fresh.stock},
                            level=messages.SUCCESS,
                        )
                return None
        else:
            form = RestockForm()
        return render(
            request,
            "coupons/admin_restock.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Restock"),
                "opts": self.model._meta,
                "vouchers": queryset[:100],
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "form": form,
            },
        )

    @admin.action(description=_("Delist (stop selling)"))
    def delist(self, request, queryset):
        for voucher in queryset:
            services.voucher_delist(voucher_id=voucher.pk)
        self.message_user(request, _("%(n)s voucher(s) delisted.") % {"n": queryset.count()}, level=messages.SUCCESS)


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
    actions = ("acknowledge",)
    cashier_actions = ("acknowledge",)

    def has_add_permission(self, request, *args):
        return False

    @admin.action(description=_("Acknowledge"))
    def acknowledge(self, request, queryset):
        n = services.alerts_acknowledge(alert_ids=list(queryset.values_list("pk", flat=True)), user=request.user)
        self.message_user(request, _("%(n)s alert(s) acknowledged.") % {"n": n})
