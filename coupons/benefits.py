"""What a coupon takes off, in words, for the admin's lists and forms and the driver's pages
(the `benefit` template filter). An amount is stored in fen and read in yuan."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from config.money import MINOR, format_money, yuan_text

from .models import Voucher

BENEFIT_VALUE_HELP = _(
    "Amount off: in yuan (e.g. 10.00). Minutes off: minutes. Percent off: 1 to 100. Free stay: leave 0."
)


def benefit_text(benefit_type: str, value: int | None) -> str:
    """1000 fen off -> "¥10.00 off your parking fee"; 60 minutes -> "60 minutes of parking free"."""
    if benefit_type == Voucher.BenefitType.AMOUNT:
        return gettext("%(v)s off your parking fee") % {"v": format_money(value or 0)}
    if benefit_type == Voucher.BenefitType.MINUTES:
        return gettext("%(v)s minutes of parking free") % {"v": value or 0}
    if benefit_type == Voucher.BenefitType.PERCENT:
        return gettext("%(v)s%% off your parking fee") % {"v": value or 0}
    return gettext("One free stay")


def benefit_form(form_class: type[forms.ModelForm]) -> type[forms.ModelForm]:
    """`form_class` with its benefit value typed as people think of it: yuan for an amount off
    (cleaned to fen), a whole number of minutes or percent otherwise."""

    class BenefitForm(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            field = self.fields.get("benefit_value")
            if field is None:
                return
            self.fields["benefit_value"] = forms.DecimalField(
                label=field.label,
                required=field.required,
                initial=field.initial,
                min_value=0,
                max_digits=12,
                decimal_places=2,
                help_text=BENEFIT_VALUE_HELP,
            )
            stored = self.initial.get("benefit_value")
            if stored is not None and getattr(self.instance, "benefit_type", None) == Voucher.BenefitType.AMOUNT:
                self.initial["benefit_value"] = yuan_text(stored)

        def clean(self):
            cleaned = super().clean()
            value = cleaned.get("benefit_value")
            if "benefit_value" not in self.fields or not isinstance(value, Decimal):
                return cleaned
            kind = cleaned.get("benefit_type", getattr(self.instance, "benefit_type", None))
            if kind == Voucher.BenefitType.AMOUNT:
                cleaned["benefit_value"] = int(value * MINOR)
            elif value != value.to_integral_value():
                self.add_error("benefit_value", _("Enter a whole number."))
            else:
                cleaned["benefit_value"] = int(value)
            return cleaned

    BenefitForm.__name__ = form_class.__name__
    return BenefitForm
