"""Account pages (register; login is Django's view behind the auth throttle) and the wallet page."""

import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from config.api import auth_attempt_wait
from config.errors import DomainError

from .services import customer_register


class RegisterForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    username = forms.RegexField(r"^[\w.@+-]+$", max_length=150, min_length=3, label=_("Username"))


def _throttled(request, template: str, form):
    """None when the request may go on; else a 429 page (see config.api.auth_attempt_wait)."""
    wait = auth_attempt_wait(request)
    if wait is None:
        return None
    messages.error(request, _("Too many attempts. Try again in %(s)s seconds.") % {"s": wait})
    response = render(request, template, {"form": form}, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    def post(self, request, *args, **kwargs):
        refused = _throttled(request, self.template_name, self.get_form_class()())
        return refused or super().post(request, *args, **kwargs)


def register(request):
    if request.method == "POST":
        form = RegisterForm(request.POST)
        refused = _throttled(request, "registration/register.html", RegisterForm())
        if refused:
            return refused
        if form.is_valid():
            try:
                user, _token = customer_register(
                    username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
                )
            except DomainError as exc:  # the name was taken between the form's check and the insert
                form.add_error("username", exc.message)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("home")
    else:
        form = RegisterForm()
    return render(request, "registration/register.html", {"form": form})


# --- Wallet page ----------------------------------------------------------------------------------

MAX_TOPUP_MAJOR = Decimal("100000.00")


class TopUpForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        min_value=Decimal("0.01"),
        max_value=MAX_TOPUP_MAJOR,
        max_digits=8,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal", "data-testid": "topup-amount"}),
    )

    # One token per rendered form: submitting the same form twice starts one top-up.
    token = forms.RegexField(r"^[0-9a-f]{32}$", widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].label = f"{_('Amount')} ({settings.CURRENCY_SYMBOL})"

    def amount_minor(self) -> int:
        return int(self.cleaned_data["amount"] * 100)


ENTRIES_SHOWN = 50


@login_required
def wallet_page(request):
    from .models import LedgerEntry
    from .services import topup_start, wallet_get_or_create

    if request.method == "POST":
        form = TopUpForm(request.POST)
        if form.is_valid():
            try:
                topup_start(user=request.user, amount=form.amount_minor(), reference=form.cleaned_data["token"] or None)
            except DomainError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, _("Your wallet was topped up."))
                return redirect("wallet")
    else:
        form = TopUpForm(initial={"token": uuid.uuid4().hex})
    wallet = wallet_get_or_create(user=request.user)
    entries = LedgerEntry.objects.filter(wallet=wallet).order_by("-created_at", "-id")[:ENTRIES_SHOWN]
    return render(request, "wallet/wallet.html", {"wallet": wallet, "entries": entries, "form": form})
