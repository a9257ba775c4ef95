from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.scoping import OrganizationScopedAdmin, ReadOnlyScopedAdmin, operator_of, organization_of
from config.errors import DomainError, page_message
from config.money import MoneyAdminMixin, format_money
from coupons.benefits import benefit_form, benefit_text
from coupons.models import Voucher

from .models import (
    Lot,
    Merchant,
    MerchantIssue,
    MerchantMember,
    MerchantQuota,
    ParkingPayment,
    ParkingSession,
    Partnership,
    SettlementEntry,
    Tariff,
)
from .selectors import lot_daily_revenue, not_found
from .services.merchants import merchant_register
from .services.partnerships import (
    month_of,
    partnership_accept,
    partnership_decline,
    partnership_end,
    partnership_live,
    partnership_offer,
    partnership_offer_problems,
)
from .services.stays import lot_recount_occupancy
from .statements import month_label, statement_csv
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


class TariffInline(MoneyAdminMixin, admin.StackedInline):
    """Tariffs are edited with their lot; the lot admin's role rules apply (Django's per-model
    permissions are not used for operators)."""

    model = Tariff
    form = TariffForm
    money_fields = ("first_price", "unit_price", "cap_per_24h", "night_unit_price", "night_cap")
    extra = 0
    # Grouped on lines, so a lot's tariffs fit a 1280-pixel screen.
    fields = (
        "vehicle_type",
        ("free_minutes", "first_minutes", "first_price"),
        ("unit_minutes", "unit_price", "cap_per_24h"),
        ("night_start", "night_end", "night_unit_price", "night_cap"),
    )

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
                self.message_user(request, f"{lot.name}: {page_message(exc)}", level=messages.ERROR)
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


class PaymentInline(MoneyAdminMixin, admin.TabularInline):
    model = ParkingPayment
    money_fields = ("fee", "discount", "amount")
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
class ParkingSessionAdmin(MoneyAdminMixin, ReadOnlyScopedAdmin):
    """Sessions are written by the camera events (entries and exits) only."""

    organization_path = "lot__organization"
    money_fields = ("fee",)
    list_display = ("plate", "plate_kind", "lot", "vehicle_type", "status", "entered_at", "exited_at", "fee", "user")
    # RelatedOnlyFieldListFilter: the plain "lot" filter would list every organization's lots.
    list_filter = ("status", UnpaidFilter, ("lot", admin.RelatedOnlyFieldListFilter), "vehicle_type", "plate_kind")
    search_fields = ("plate",)
    date_hierarchy = "entered_at"
    list_select_related = ("lot", "user")
    inlines = [PaymentInline]

    def get_fields(self, request, obj=None):
        return list(dict.fromkeys(("tariff_text" if f == "tariff" else f) for f in super().get_fields(request, obj)))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "tariff_text"]

    @admin.display(description=_("tariff at entry"))
    def tariff_text(self, obj):
        return tariff_text(obj.tariff) if obj.tariff else "—"


def tariff_text(data: dict) -> str:
    """A stay's tariff (the engine's JSON) as a sentence: prices in yuan, times in minutes."""
    try:
        rule = parse_rule(data)
    except DomainError:
        return str(data)
    text = gettext(
        "%(free)s minutes free; the first %(first)s minutes %(first_price)s; then %(unit_price)s "
        "per %(unit)s minutes; at most %(cap)s per 24 hours"
    ) % {
        "free": rule.free_minutes,
        "first": rule.first_minutes,
        "first_price": format_money(rule.first_price),
        "unit_price": format_money(rule.unit_price),
        "unit": rule.unit_minutes,
        "cap": format_money(rule.cap_per_24h),
    }
    if rule.night is not None:
        night = gettext("at night (%(start)s to %(end)s) %(price)s per period") % {
            "start": rule.night.start.strftime("%H:%M"),
            "end": rule.night.end.strftime("%H:%M"),
            "price": format_money(rule.night.unit_price),
        }
        if rule.night.cap is not None:
            night += gettext(", at most %(cap)s a night") % {"cap": format_money(rule.night.cap)}
        text += gettext("; ") + night
    return text


@admin.register(ParkingPayment)
class ParkingPaymentAdmin(MoneyAdminMixin, ReadOnlyScopedAdmin):
    organization_path = "session__lot__organization"
    money_fields = ("fee", "discount", "amount")
    list_display = ("id", "session", "status", "fee", "discount", "amount", "method", "coupon", "paid_at")
    list_filter = ("status", "method", ("session__lot", admin.RelatedOnlyFieldListFilter))
    search_fields = ("session__plate",)
    date_hierarchy = "created_at"
    list_select_related = ("session", "session__lot")


# --- partnerships -------------------------------------------------------------------------------------


class PartnershipOfferForm(forms.ModelForm):
    """An offer made from the admin: the same checks as the API's (services.partnerships)."""

    benefit_types = forms.MultipleChoiceField(
        label=_("Benefit types"), choices=Voucher.BenefitType.choices, widget=forms.CheckboxSelectMultiple
    )
    scope_organization = None  # the operator's organization (set by PartnershipAdmin.get_form)

    class Meta:
        model = Partnership
        fields = (
            "offering",
            "partner",
            "lots",
            "benefit_types",
            "settlement_price",
            "valid_from",
            "valid_until",
            "monthly_cap",
        )

    def clean(self):
        data = super().clean()
        offering = data.get("offering") or self.scope_organization
        partner, lots = data.get("partner"), data.get("lots")
        if self.errors or offering is None or partner is None or lots is None:
            return data
        for field, msgs in partnership_offer_problems(
            organization=offering,
            partner=partner,
            lots=list(lots),
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
        ).items():
            self.add_error(field, msgs)
        if partnership_live(organization=offering, partner=partner):
            self.add_error("partner", _("A partnership with this organization is already offered or running."))
        return data


@admin.register(Partnership)
class PartnershipAdmin(MoneyAdminMixin, OrganizationScopedAdmin):
    """Both sides see a partnership; the offering side adds it (its organization is the offering
    one), the invited side accepts or declines it, either ends it. Terms never change: the change
    page only shows them."""

    organization_path = "offering"
    form = PartnershipOfferForm
    money_fields = ("settlement_price",)
    list_display = (
        "id",
        "offering",
        "partner",
        "status",
        "settlement_price",
        "monthly_cap",
        "this_month",
        "valid_until",
        "statement_link",
    )
    list_filter = ("status",)
    actions = ["accept", "decline", "end"]
    readonly_fields = ("status", "responded_at", "ended_at", "ended_by", "created_at")

    def scope_queryset(self, qs, user):
        if user.is_superuser:
            return qs
        org = organization_of(user)
        return qs.filter(Q(offering=org) | Q(partner=org)) if org is not None else qs.none()

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("offering", "partner")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None and not request.user.is_superuser:
            kwargs["exclude"] = ["offering"]
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser:
            form.scope_organization = organization_of(request.user)
        return form

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        terms = [("benefit_types_text" if f == "benefit_types" else f) for f in PartnershipOfferForm.Meta.fields]
        return self._money_names([*terms, *self.readonly_fields])

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is None:
            return fields
        return list(dict.fromkeys("benefit_types_text" if f == "benefit_types" else f for f in fields))

    @admin.display(description=_("benefit types"))
    def benefit_types_text(self, obj):
        labels = dict(Voucher.BenefitType.choices)
        return gettext(", ").join(str(labels.get(t, t)) for t in obj.benefit_types)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "partner" and not request.user.is_superuser:
            # Any other organization may be invited (names are public: they are on their coupons).
            org = organization_of(request.user)
            kwargs["queryset"] = Organization.objects.exclude(pk=org.pk if org else None)
            return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        offering = data.get("offering") if request.user.is_superuser else organization_of(request.user)
        created = partnership_offer(
            organization=offering,
            user=request.user,
            partner=data["partner"],
            lots=list(data["lots"]),
            benefit_types=data["benefit_types"],
            settlement_price=data["settlement_price"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            monthly_cap=data["monthly_cap"],
        )
        obj.pk, obj.offering, obj.status, obj.created_at = (
            created.pk,
            created.offering,
            created.status,
            created.created_at,
        )

    def save_related(self, request, form, formsets, change):
        """The service wrote the lots with the partnership."""

    @admin.display(description=_("This month"))
    def this_month(self, obj):
        counter = obj.months.filter(month=month_of(timezone.now())).first()
        used = counter.redemptions if counter else 0
        return _bar(used, obj.monthly_cap)

    @admin.display(description=_("Statement"))
    def statement_link(self, obj):
        url = reverse("admin:parking_settlemententry_changelist") + f"?partnership__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Your side"))

    def _run(self, request, queryset, service, done):
        org = organization_of(request.user)
        if org is None:
            self.message_user(request, _("Only an organization's operators can answer for it."), level=messages.ERROR)
            return
        for partnership in queryset:
            try:
                service(partnership_id=partnership.pk, organization=org)
            except DomainError as exc:
                self.message_user(request, f"#{partnership.pk}: {page_message(exc)}", level=messages.ERROR)
            else:
                self.message_user(request, done % {"id": partnership.pk})

    @admin.action(description=_("Accept the selected offers"))
    def accept(self, request, queryset):
        self._run(request, queryset, partnership_accept, _("Partnership #%(id)s accepted."))

    @admin.action(description=_("Decline the selected offers"))
    def decline(self, request, queryset):
        self._run(request, queryset, partnership_decline, _("Partnership #%(id)s declined."))

    @admin.action(description=_("End the selected partnerships"))
    def end(self, request, queryset):
        self._run(request, queryset, partnership_end, _("Partnership #%(id)s ended."))


@admin.register(SettlementEntry)
class SettlementEntryAdmin(MoneyAdminMixin, ReadOnlyScopedAdmin):
    """An organization's own side of its partnerships' settlements: filter by partnership and
    month for a statement, export the selection as CSV."""

    organization_path = "organization"
    money_fields = ("amount",)
    list_display = (
        "id",
        "month_label",
        "partnership",
        "counterparty",
        "lot",
        "plate",
        "payment",
        "amount",
        "created_at",
    )
    list_filter = (("partnership", admin.RelatedOnlyFieldListFilter), "month")
    list_select_related = ("counterparty", "payment__session__lot")
    actions = ["export_csv"]
    cashier_actions = ("export_csv",)

    @admin.display(description=_("Month"), ordering="month")
    def month_label(self, obj):
        return month_label(obj.month)

    @admin.display(description=_("Lot"))
    def lot(self, obj):
        return obj.payment.session.lot.name

    @admin.display(description=_("Plate"))
    def plate(self, obj):
        return obj.payment.session.plate

    def changelist_view(self, request, extra_context=None):
        """The total of what the list shows, under its title."""
        response = super().changelist_view(request, extra_context)
        cl = getattr(response, "context_data", {}).get("cl") if hasattr(response, "context_data") else None
        if cl is not None:
            total = cl.queryset.aggregate(total=Sum("amount"), n=Count("id"))
            response.context_data["subtitle"] = _("%(n)s redemptions, net %(total)s") % {
                "n": total["n"],
                "total": format_money(total["total"] or 0),
            }
        return response

    @admin.action(description=_("Export the selected entries as CSV"))
    def export_csv(self, request, queryset):
        entries = list(queryset.select_related("counterparty", "payment__session__lot").order_by("created_at", "id"))
        response = HttpResponse(statement_csv(entries), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="settlement.csv"'
        return response


# --- merchants ----------------------------------------------------------------------------------------


class MerchantAddForm(forms.ModelForm):
    """A new merchant and the user it logs in with (services.merchants.merchant_register)."""

    username = forms.CharField(label=_("Login name"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)
    benefit_type = forms.ChoiceField(
        label=_("Benefit type"), choices=Voucher.BenefitType.choices, initial=Voucher.BenefitType.MINUTES
    )

    class Meta:
        model = Merchant
        fields = ("organization", "name", "lots", "benefit_type", "benefit_value", "unit_price")

    def clean_password(self):
        from django.contrib.auth.password_validation import validate_password

        validate_password(self.cleaned_data["password"])
        return self.cleaned_data["password"]

    def clean_username(self):
        from django.contrib.auth import get_user_model

        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username


class QuotaInline(MoneyAdminMixin, admin.TabularInline):
    model = MerchantQuota
    money_fields = ("unit_price", "refund_amount")
    extra = 0
    fields = ("id", "quantity", "unit_price", "issued", "redeemed", "valid_from", "valid_until", "refund_amount")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or operator_of(request.user) is not None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MemberInline(QuotaInline):
    model = MerchantMember
    money_fields = ()
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    show_change_link = False


@admin.register(Merchant)
class MerchantAdmin(MoneyAdminMixin, OrganizationScopedAdmin):
    """An organization's merchants; their quotas below. New ones come with their login."""

    money_fields = ("unit_price",)
    list_display = ("name", "organization", "benefit", "unit_price", "active", "account")
    list_filter = ("active",)
    search_fields = ("name",)
    inlines = [MemberInline, QuotaInline]

    @admin.display(description=_("benefit"), ordering="benefit_type")
    def benefit(self, obj):
        return benefit_text(obj.benefit_type, obj.benefit_value)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MerchantAddForm
        return benefit_form(super().get_form(request, obj, **kwargs))

    def get_readonly_fields(self, request, obj=None):
        return ("account",) if obj is not None else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["name", "lots", "benefit_type", "benefit_value", "unit_price", "username", "password"]
            return (["organization"] if request.user.is_superuser else []) + fields
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        data = form.cleaned_data
        org = data.get("organization") if request.user.is_superuser else organization_of(request.user)
        created = merchant_register(
            organization=org,
            name=data["name"],
            lots=list(data["lots"]),
            username=data["username"],
            password=data["password"],
            benefit_type=data["benefit_type"],
            benefit_value=data["benefit_value"],
            unit_price=data["unit_price"],
        )
        obj.pk, obj.organization, obj.account = created.pk, created.organization, created.account

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)


@admin.register(MerchantQuota)
class MerchantQuotaAdmin(MoneyAdminMixin, ReadOnlyScopedAdmin):
    organization_path = "merchant__organization"
    money_fields = ("unit_price", "refund_amount")
    list_display = (
        "id",
        "merchant",
        "benefit",
        "quantity",
        "issued",
        "redeemed",
        "total_price",
        "valid_until",
        "refund_amount",
    )
    list_filter = (("merchant", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("merchant",)

    @admin.display(description=_("benefit"), ordering="benefit_type")
    def benefit(self, obj):
        return benefit_text(obj.benefit_type, obj.benefit_value)

    @admin.display(description=_("price of the quota"))
    def total_price(self, obj):
        return format_money(obj.price)

    def get_fields(self, request, obj=None):
        pair = ("benefit_type", "benefit_value")
        return list(dict.fromkeys("benefit" if f in pair else f for f in super().get_fields(request, obj)))

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "benefit"]


@admin.register(MerchantIssue)
class MerchantIssueAdmin(ReadOnlyScopedAdmin):
    """Every coupon a merchant handed out, and where it was redeemed."""

    organization_path = "quota__merchant__organization"
    list_display = ("id", "merchant", "plate", "status", "created_at", "redeemed_at", "discount")
    list_filter = ("status", ("quota__merchant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("plate",)
    list_select_related = ("quota__merchant", "payment__session__lot")
    exclude = ("claim_token",)

    @admin.display(description=_("Merchant"))
    def merchant(self, obj):
        return obj.quota.merchant

    @admin.display(description=_("Redeemed at"))
    def redeemed_at(self, obj):
        return obj.payment.session.lot.name if obj.payment_id else ""

    @admin.display(description=_("Discount"))
    def discount(self, obj):
        return format_money(obj.payment.discount) if obj.payment_id else ""
