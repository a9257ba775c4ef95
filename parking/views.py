"""Customer parking pages: my vehicles, my stays with the live fee, and the pay page."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from config.errors import DomainError, page_message

from . import selectors
from .models import Tariff
from .plates import registration_plate
from .services import vehicles as vehicle_services
from .services.payments import merchant_offer, session_pay


def _error(request, exc: DomainError) -> None:
    """The page side of the one error type: a DomainError becomes a message."""
    messages.error(request, page_message(exc))


class VehicleForm(forms.Form):
    plate = forms.CharField(
        label=gettext_lazy("Plate"),
        max_length=32,
        help_text=gettext_lazy("For example 粤B12345, or 粤BD12345 for a new-energy car"),
    )
    vehicle_type = forms.ChoiceField(
        label=gettext_lazy("Vehicle type"),
        choices=[("", gettext_lazy("From the plate"))] + Tariff.VehicleType.choices,
        required=False,
    )
    auto_pay = forms.BooleanField(label=gettext_lazy("Pay automatically from my wallet when I leave"), required=False)

    def clean_plate(self):
        try:
            return registration_plate(self.cleaned_data["plate"])
        except DomainError as exc:
            raise forms.ValidationError(_("This is not a valid licence plate.")) from exc


@login_required
def vehicles(request):
    if request.method == "POST":
        form = VehicleForm(request.POST)
        if form.is_valid():
            try:
                vehicle, _created = vehicle_services.vehicle_register(
                    user=request.user,
                    plate=form.cleaned_data["plate"],
                    auto_pay=form.cleaned_data["auto_pay"],
                    vehicle_type=form.cleaned_data["vehicle_type"] or None,
                )
            except DomainError as exc:
                form.add_error("plate", page_message(exc))
            else:
                messages.success(request, _("Vehicle %(plate)s saved.") % {"plate": vehicle.plate})
                return redirect("parking-vehicles")
    else:
        form = VehicleForm()
    return render(
        request,
        "parking/vehicles.html",
        {
            "form": form,
            "vehicles": selectors.vehicles_for_customer(request.user),
            "vehicle_types": Tariff.VehicleType.choices,
        },
    )


@login_required
@require_POST
def vehicle_auto_pay(request, vehicle_id):
    vehicle = selectors.vehicle_for_customer(request.user, vehicle_id)
    vehicle_services.vehicle_set_auto_pay(vehicle=vehicle, auto_pay=request.POST.get("auto_pay") == "on")
    messages.success(
        request,
        (_("Auto-pay is on for %(plate)s.") if vehicle.auto_pay else _("Auto-pay is off for %(plate)s."))
        % {"plate": vehicle.plate},
    )
    return redirect("parking-vehicles")


@login_required
@require_POST
def vehicle_type(request, vehicle_id):
    vehicle = selectors.vehicle_for_customer(request.user, vehicle_id)
    try:
        vehicle_services.vehicle_set_type(vehicle=vehicle, vehicle_type=request.POST.get("vehicle_type", ""))
    except DomainError as exc:
        _error(request, exc)
    else:
        messages.success(
            request,
            _("Vehicle type of %(plate)s: %(type)s.")
            % {"plate": vehicle.plate, "type": vehicle.get_vehicle_type_display()},
        )
    return redirect("parking-vehicles")


@login_required
@require_POST
def vehicle_remove(request, vehicle_id):
    vehicle = selectors.vehicle_for_customer(request.user, vehicle_id)
    plate = vehicle.plate
    vehicle_services.vehicle_remove(vehicle=vehicle)
    messages.success(request, _("Vehicle %(plate)s removed.") % {"plate": plate})
    return redirect("parking-vehicles")


@login_required
def sessions(request):
    now = timezone.now()
    rows = [(s, selectors.snapshot(s, now)) for s in selectors.sessions_for_customer(request.user)[:100]]
    return render(request, "parking/sessions.html", {"rows": rows, "now": now})


class PayForm(forms.Form):
    coupon = forms.ChoiceField(required=False, widget=forms.RadioSelect)

    def __init__(self, *args, coupons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["coupon"].choices = [("", _("No coupon"))] + [(str(c.pk), c.voucher.title) for c in coupons]


@login_required
def pay(request, session_id):
    """What the stay owes now, with the customer's coupons for it; a POST pays it (`session_pay`
    writes the payment and charges it in one transaction). A GET only reads."""
    session = selectors.session_for_customer(request.user, session_id)
    coupons = selectors.coupons_for_session(request.user, session)
    if request.method == "POST":
        form = PayForm(request.POST, coupons=coupons)
        if not form.is_valid():
            messages.error(request, _("Choose a coupon from the list."))
            return redirect("parking-pay", session_id=session.pk)
        coupon_id = selectors.parse_uuid(form.cleaned_data["coupon"]) if form.cleaned_data["coupon"] else None
        try:
            payment = session_pay(session_id=session.pk, user=request.user, coupon_id=coupon_id)
        except DomainError as exc:
            _error(request, exc)
            return redirect("parking-pay", session_id=session.pk)
        messages.success(
            request,
            _("Paid %(amount)s for %(plate)s.") % {"amount": _money(payment.amount), "plate": session.plate},
        )
        return redirect("parking-sessions")
    snap = selectors.snapshot(session, timezone.now())
    offers = selectors.payment_offers(request.user, session, snap)
    # a merchant's coupon issued to this car applies when no coupon is chosen: it comes first
    shop = merchant_offer(session=session, fee=snap.due, covered=snap.covered, until=snap.at)
    best = None if shop else next((o for o in offers if o.best), None)
    context = {"session": session, "snap": snap, "offers": offers, "best": best, "shop": shop}
    return render(request, "parking/pay.html", context)


def _money(value: int) -> str:
    from config.money import format_money as money

    return money(value)
