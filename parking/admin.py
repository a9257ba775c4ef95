from django import forms
from django.contrib import admin, messages
from django.db.models import Exists, OuterRef
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.scoping import OrganizationScopedAdmin, ReadOnlyScopedAdmin, operator_of, organization_of
from config.errors import DomainError

from .models import Lot, ParkingPayment, ParkingSession, Tariff
from .selectors import lot_daily_revenue, not_found
from .services.stays import lot_recount_occupancy
from .tariffs import parse_rule


class TariffForm(forms.ModelForm):
    """The admin's tariff goes through the engine's validation (parse_rule), the same as the API's:
    a stay keeps its tariff as the engine's JSON and is priced from it, so a value the engine
    refuses would make every exit and fee query of the lot a validation error."""

    _NIGHT = {"start": "night_start", "end": "night_end", "unit_price": "night_unit_price", "cap": "night_cap"}

    class Meta:
        model = Tariff
        fields = (
            "vehicle_type",
            "free_minutes",
            "first_minutes",
            "first_price",
            "unit_minutes",
            "unit_price",
            "cap_per_24h",
            "night_start",
            "night_end",
            "night_unit_price",
            "night_cap",
        )

    def clean(self):
        data = super().clean()
        names = ("free_minutes", "first_minutes", "first_price", "unit_minutes", "unit_price", "cap_per_24h")
        if self.errors or any(data.get(name) is None for name in names):
            return data  # field errors already speak; incomplete rows are the constraints' business
        raw = {name: data[name] for name in names}
        if all(data.get(f) is not None for f in ("night_start", "night_end", "night_unit_price")):
            raw["night"] = {
                "start": data["night_start"].strftime("%H:%M"),
                "end": data["night_end"].strftime("%H:%M"),
                "unit_price": data["night_unit_price"],
                "cap": data.get("night_cap"),
            }
        try:
            parse_rule(raw)
        except DomainError as exc:
            for name, messages_ in exc.details.get("tariff", {}).items():
                if name == "night":
                    for sub, msgs in messages_.items():
                        self.add_error(self._NIGHT.get(sub), msgs)
                else:
                    self.add_error(name, messages_)
        return data


class TariffInline(admin.TabularInline):
    """Tariffs are edited with their lot; the lot admin's role rules apply (Django's per-model
    permissions are not used for operators)."""

    model = Tariff
    form = TariffForm
    extra = 0
    fields = TariffForm.Meta.fields

    def _can_write(self, request) -> bool:
        if request.user.is_superuser:
            return True
        op = operator_of(request.user)
        return bool(request.user.is_staff and op and op.can_write)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or operator_of(request.user) is not None

    def has_add_permission(self, request, obj=None):
        return self._can_write(request)

    def has_change_permission(self, request, obj=None):
        return self._can_write(request)

    def has_delete_permission(self, request, obj=None):
        return self._can_write(request)


def _bar(value: int, total: int, *, label: str = "") -> str:
    pct = 0 if total <= 0 else min(100, round(100 * value / total))
    colour = "#b42318" if pct >= 90 else "#b54708" if pct >= 70 else "#127a3e"
    return format_html(
        '<div style="display:flex;align-items:center;gap:.5rem;min-width:12rem">'
        '<div style="flex:1;background:#eaecf0;border-radius:4px;height:.8rem" role="img" aria-label="{}%">'
        '<div style="width:{}%;background:{};height:100%;border-radius:4px"></div></div>'
        "<span>{}</span></div>",
        pct,
        pct,
        colour,
        label or f"{value}/{total}",
    )


class LotForm(forms.ModelForm):
    # The operator's organization when the form has no organization field (set by LotAdmin.get_form).
    scope_organization = None

    class Meta:
        model = Lot
        fields = ("organization", "name", "capacity", "grace_minutes")

    def clean(self):
        data = super().clean()
        # Django checks unique (organization, name) only when both are form fields; an operator's
        # form has no organization field, so the check is done here (else the database refuses: a 500).
        name = data.get("name")
        if "organization" not in self.fields and name and self.scope_organization is not None:
            taken = Lot.objects.filter(organization=self.scope_organization, name=name).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error("name", _("Your organization already has a lot with this name."))
        return data

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk and capacity < self.instance.occupancy:
            raise forms.ValidationError(
                _("%(n)s cars are parked now: the capacity cannot be lower.") % {"n": self.instance.occupancy}
            )
        return capacity


@admin.register(Lot)
class LotAdmin(OrganizationScopedAdmin):
    form = LotForm
    list_display = ("name", "organization", "capacity", "occupancy_bar", "grace_minutes", "report_link")
    search_fields = ("name",)
    readonly_fields = ("occupancy",)
    inlines = [TariffInline]
    actions = ["recount_occupancy"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser:
            form.scope_organization = organization_of(request.user)
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # Occupancy is the cameras' counter, moved by conditional UPDATEs: an edit writes every other
        # field and never writes back the occupancy it read when the form was posted.
        fields = [f.name for f in Lot._meta.concrete_fields if f.name not in ("id", "occupancy", "created_at")]
        if not request.user.is_superuser:
            fields.remove("organization")
        obj.save(update_fields=fields)

    @admin.action(description=_("Recount occupancy from the cars parked"))
    def recount_occupancy(self, request, queryset):
        for lot in queryset:
            try:
                parked = lot_recount_occupancy(lot_id=lot.pk)
            except DomainError as exc:
                self.message_user(request, f"{lot.name}: {exc.message}", level=messages.ERROR)
            else:
                self.message_user(request, _("%(lot)s: %(n)s cars parked.") % {"lot": lot.name, "n": parked})

    @admin.display(description=_("Occupancy"), ordering="occupancy")
    def occupancy_bar(self, obj):
        return _bar(obj.occupancy, obj.capacity)

    @admin.display(description=_("Report"))
    def report_link(self, obj):
        url = reverse("admin:parking_lot_report", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Occupancy and revenue"))

    def get_urls(self):
        custom = [
            path(
                "<int:lot_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="parking_lot_report",
            )
        ]
        return custom + super().get_urls()

    def report_view(self, request, lot_id):
        """Occupancy and the daily revenue of one lot (last 30 days), as a CSS bar chart."""
        lot = self.get_queryset(request).filter(pk=lot_id).first()
        if lot is None or not self.has_view_permission(request, lot):
            raise not_found("lot")
        days = lot_daily_revenue(lot, days=30)
        peak = max((d["revenue"] for d in days), default=0) or 1
        for d in days:
            d["height"] = round(100 * d["revenue"] / peak)
        open_sessions = ParkingSession.objects.filter(lot=lot, status=ParkingSession.Status.OPEN)
        unpaid = ParkingPayment.objects.filter(session__lot=lot, status=ParkingPayment.Status.UNPAID)
        context = {
            **self.admin_site.each_context(request),
            "title": _("%(lot)s: occupancy and revenue") % {"lot": lot.name},
            "lot": lot,
            "opts": self.model._meta,
            "occupancy_bar": _bar(lot.occupancy, lot.capacity),
            "open_sessions": open_sessions.count(),
            "unpaid_count": unpaid.count(),
            "unpaid_total": sum(unpaid.values_list("amount", flat=True)),
            "days": days,
            "total": sum(d["revenue"] for d in days),
            "discounts": sum(d["discount"] for d in days),
        }
        return TemplateResponse(request, "parking/admin/lot_report.html", context)


class UnpaidFilter(admin.SimpleListFilter):
    title = _("payment")
    parameter_name = "unpaid"

    def lookups(self, request, model_admin):
        return (("yes", _("Has an unpaid fee")), ("no", _("Nothing unpaid")))

    def queryset(self, request, queryset):
        unpaid = ParkingPayment.objects.filter(session=OuterRef("pk"), status=ParkingPayment.Status.UNPAID)
        if self.value() == "yes":
            return queryset.filter(Exists(unpaid))
        if self.value() == "no":
            return queryset.exclude(Exists(unpaid))
        return queryset


class PaymentInline(admin.TabularInline):
    model = ParkingPayment
    extra = 0
    fields = ("status", "fee", "discount", "amount", "method", "coupon", "priced_until", "paid_at")
    readonly_fields = fields
    can_delete = False

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or operator_of(request.user) is not None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ParkingSession)
class ParkingSessionAdmin(ReadOnlyScopedAdmin):
    """Sessions are written by the camera events (entries and exits) only."""

    organization_path = "lot__organization"
    list_display = ("plate", "plate_kind", "lot", "vehicle_type", "status", "entered_at", "exited_at", "fee", "user")
    # RelatedOnlyFieldListFilter: the plain "lot" filter would list every organization's lots.
    list_filter = ("status", UnpaidFilter, ("lot", admin.RelatedOnlyFieldListFilter), "vehicle_type", "plate_kind")
    search_fields = ("plate",)
    date_hierarchy = "entered_at"
    list_select_related = ("lot", "user")
    inlines = [PaymentInline]


@admin.register(ParkingPayment)
class ParkingPaymentAdmin(ReadOnlyScopedAdmin):
    organization_path = "session__lot__organization"
    list_display = ("id", "session", "status", "fee", "discount", "amount", "method", "coupon", "paid_at")
    list_filter = ("status", "method", ("session__lot", admin.RelatedOnlyFieldListFilter))
    search_fields = ("session__plate",)
    date_hierarchy = "created_at"
    list_select_related = ("session", "session__lot")
