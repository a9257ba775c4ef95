"""The wallet page: balance, sandbox top-up, ledger."""

import uuid
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from config.errors import DomainError, page_message

from .notes import ledger_note
from .selectors import ledger_entries_of, wallet_of
from .services import topup_start

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


ENTRIES_PER_PAGE = 20


@login_required
def wallet_page(request):
    if request.method == "POST":
        form = TopUpForm(request.POST)
        if form.is_valid():
            try:
                topup_start(user=request.user, amount=form.amount_minor(), reference=form.cleaned_data["token"] or None)
            except DomainError as exc:
                messages.error(request, page_message(exc))
            else:
                messages.success(request, _("Your wallet was topped up."))
                return redirect("wallet")
    else:
        form = TopUpForm(initial={"token": uuid.uuid4().hex})
    wallet = wallet_of(user=request.user)
    page = Paginator(ledger_entries_of(user=request.user), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    for entry in page.object_list:
        entry.note = ledger_note(entry.memo)
    context = {"wallet": wallet, "entries": page.object_list, "page": page, "form": form}
    return render(request, "wallet/wallet.html", context)
