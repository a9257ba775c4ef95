"""The merchant portal (server-rendered): the merchant's wallet, quotas and issued coupons, buying
a quota and issuing a coupon by plate or as a claim link; and the driver's claim page."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.errors import DomainError

from . import selectors
from .plates import clean_plate
from .services import merchants as services


class QuotaBuyForm(forms.Form):
    quantity = forms.IntegerField(label=gettext_lazy("Coupons"), min_value=1, max_value=100_000)
    days = forms.IntegerField(label=gettext_lazy("Valid for (days)"), min_value=1, max_value=366, initial=30)


class IssueForm(forms.Form):
    quota = forms.TypedChoiceField(label=gettext_lazy("Quota"), coerce=int)
    plate = forms.CharField(
        label=gettext_lazy("Plate"), max_length=32, required=False, help_text=gettext_lazy("For example 粤B12345")
    )

    def __init__(self, *args, quotas=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["quota"].choices = [
            (
                q.pk,
                _("Quota %(id)s: %(left)s left, until %(until)s")
                % {
                    "id": q.pk,
                    "left": q.quantity - q.issued,
                    "until": timezone.localtime(q.valid_until).strftime("%Y-%m-%d"),
                },
            )
            for q in quotas
        ]

    def clean_plate(self):
        plate = self.cleaned_data["plate"]
        if not plate:
            return ""
        try:
            return clean_plate(plate)
        except DomainError as exc:
            raise forms.ValidationError(_("This is not a valid licence plate.")) from exc


class StaffForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password = forms.CharField(label=gettext_lazy("Password"), max_length=128, widget=forms.PasswordInput)
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[
            ("clerk", gettext_lazy("Clerk: issues coupons")),
            ("manager", gettext_lazy("Manager: also buys quotas")),
        ],
    )

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


def _merchant(request):
    merchant = selectors.merchant_of(request.user)
    if merchant is None:
        raise PermissionDenied(_("This page is for merchants."))
    return merchant


def _owned_merchant(request):
    """The merchant whose own account is logged in: only the owner manages staff."""
    access = selectors.merchant_access(request.user)
    if access is None or access[1] != "owner":
        raise PermissionDenied(_("Only the shop's own account manages its staff."))
    return access[0]


def _live_quotas(merchant):
    now = timezone.now()
    return [
        q
        for q in selectors.quotas_of(merchant).filter(
            refunded_at__isnull=True, valid_until__gt=now, valid_from__lte=now
        )
        if q.issued < q.quantity
    ]


@login_required
def portal(request):
    from wallet.services import wallet_get_or_create

    merchant = _merchant(request)
    role = selectors.merchant_access(request.user)[1]
    issues = list(selectors.issues_of(merchant)[:50])
    for issue in issues:
        issue.claim_url = (
            request.build_absolute_uri(reverse("parking-claim", args=[issue.claim_token]))
            if issue.claim_token and not issue.plate
            else None
        )
    return render(
        request,
        "parking/merchant_portal.html",
        {
            "merchant": merchant,
            "balance": wallet_get_or_create(user=merchant.account).balance,
            "may_buy": role in ("owner", "manager"),
            "staff": merchant.members.select_related("user") if role == "owner" else None,
            "staff_form": StaffForm() if role == "owner" else None,
            "quotas": selectors.quotas_of(merchant)[:50],
            "issues": issues,
            "buy_form": QuotaBuyForm(),
            "issue_form": IssueForm(quotas=_live_quotas(merchant)),
        },
    )


@login_required
@require_POST
def quota_buy(request):
    merchant = _merchant(request)
    if selectors.merchant_access(request.user)[1] not in ("owner", "manager"):
        raise PermissionDenied(_("Your role may issue coupons but not buy them."))
    form = QuotaBuyForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a number of coupons and of days."))
        return redirect("merchant-portal")
    now = timezone.now()
    try:
        quota = services.quota_buy(
            merchant=merchant,
            quantity=form.cleaned_data["quantity"],
            valid_from=now,
            valid_until=now + timedelta(days=form.cleaned_data["days"]),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, _("%(n)s coupons bought for %(price)s fen.") % {"n": quota.quantity, "price": quota.price}
        )
    return redirect("merchant-portal")


@login_required
@require_POST
def issue(request):
    merchant = _merchant(request)
    form = IssueForm(request.POST, quotas=_live_quotas(merchant))
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("merchant-portal")
    try:
        if "claim_link" in request.POST:
            services.issue_claim_link(merchant=merchant, quota_id=form.cleaned_data["quota"], user=request.user)
            messages.success(request, _("Claim link created: hand it to your customer."))
        elif form.cleaned_data["plate"]:
            made = services.issue_to_plate(
                merchant=merchant,
                quota_id=form.cleaned_data["quota"],
                plate=form.cleaned_data["plate"],
                user=request.user,
            )
            messages.success(
                request, _("Coupon given to %(plate)s: it applies at the car's exit.") % {"plate": made.plate}
            )
        else:
            messages.error(request, _("Give a plate, or create a claim link."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("merchant-portal")


@login_required
@require_POST
def staff_add(request):
    merchant = _owned_merchant(request)
    form = StaffForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect("merchant-portal")
    try:
        member = services.merchant_member_add(merchant=merchant, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(username)s can now log in for your shop.") % {"username": member.user})
    return redirect("merchant-portal")


@login_required
@require_POST
def staff_remove(request, member_id):
    merchant = _owned_merchant(request)
    try:
        services.merchant_member_remove(merchant=merchant, member_id=member_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Staff member removed."))
    return redirect("merchant-portal")


class ClaimForm(forms.Form):
    plate = forms.ChoiceField(label=gettext_lazy("Car"))


@login_required
def claim(request, token):
    """A driver opens a merchant's claim link and picks one of their cars."""
    plates = [(v.plate, v.plate) for v in selectors.vehicles_for_customer(request.user)]
    form = ClaimForm(request.POST or None)
    form.fields["plate"].choices = plates
    if request.method == "POST" and form.is_valid():
        try:
            made = services.issue_claim(token=token, user=request.user, plate=form.cleaned_data["plate"])
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Coupon saved for %(plate)s: it applies at the car's next exit.") % {"plate": made.plate}
            )
            return redirect("parking-sessions")
    return render(request, "parking/claim.html", {"form": form, "has_cars": bool(plates)})
