"""Money as people see it: integer minor units (fen) in the database and the API, yuan with two
decimals on every page and in the admin, shown and typed. One form field converts both ways and one
admin mixin uses it for every money column of a model, in forms, lists and read-only views."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MINOR = 100


def format_money(value) -> str:
    """Minor units to a display amount: 1250 -> ¥12.50, -300 -> -¥3.00, None -> ""."""
    if value is None or value == "":
        return ""
    value = int(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{settings.CURRENCY_SYMBOL}{value // MINOR}.{value % MINOR:02d}"


def yuan_text(value) -> str:
    """Minor units to the number typed in a form: 1250 -> "12.50"."""
    if value is None or value == "":
        return ""
    return f"{Decimal(int(value)) / MINOR:.2f}"


class YuanField(forms.DecimalField):
    """A money form field: shows and takes yuan ("12.5", "12.50"), cleans to integer fen (1250).
    More than two decimals is an error, never a silent rounding."""

    default_error_messages = {"cents": _("Enter an amount with at most two decimals, e.g. 12.50.")}

    def __init__(self, *, min_value: int | None = 0, max_value: int | None = None, **kwargs):
        self.min_fen, self.max_fen = min_value, max_value
        kwargs.setdefault("widget", forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))
        super().__init__(max_digits=None, decimal_places=None, **kwargs)
        self.widget.attrs.setdefault("class", "money-input")
        if min_value is not None:
            self.widget.attrs["min"] = yuan_text(min_value)
        if max_value is not None:
            self.widget.attrs["max"] = yuan_text(max_value)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return yuan_text(value)
        return value

    def to_python(self, value):
        amount = super().to_python(value)
        if amount is None:
            return None
        if not amount.is_finite():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            fen = (amount * MINOR).to_integral_value(rounding=ROUND_HALF_UP)
        except InvalidOperation as exc:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from exc
        if fen != amount * MINOR:
            raise ValidationError(self.error_messages["cents"], code="cents")
        return int(fen)

    def validate(self, value):
        forms.Field.validate(self, value)

    def run_validators(self, value):
        if value in self.empty_values:
            return
        if self.min_fen is not None and value < self.min_fen:
            raise ValidationError(
                _("Enter at least %(amount)s.") % {"amount": format_money(self.min_fen)}, code="min_value"
            )
        if self.max_fen is not None and value > self.max_fen:
            raise ValidationError(
                _("Enter at most %(amount)s.") % {"amount": format_money(self.max_fen)}, code="max_value"
            )

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (None if initial in (None, "") else int(initial))
        except (ValidationError, ValueError, TypeError):
            return True

    def widget_attrs(self, widget):
        return {}


SUFFIX = "_yuan"


def money_column(model, name: str):
    """A list/read-only column showing the money field `name` of `model` formatted (¥12.50)."""
    label = model._meta.get_field(name).verbose_name

    @admin.display(description=label, ordering=name)
    def column(obj):
        return format_money(getattr(obj, name))

    column.__name__ = name + SUFFIX
    return column


class MoneyAdminMixin:
    """For ModelAdmins and inlines: the fields named in `money_fields` are typed in yuan (YuanField),
    and listed and shown read-only formatted. Stored values stay integer fen."""

    money_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name in self.money_fields:
            kind = db_field.get_internal_type()
            label = kwargs.get("label") or db_field.verbose_name
            return YuanField(
                label=f"{str(label)[:1].upper()}{str(label)[1:]} ({settings.CURRENCY_SYMBOL})",
                required=not db_field.blank,
                help_text=kwargs.get("help_text", ""),
                min_value=None if kind in ("IntegerField", "BigIntegerField") else 0,
                max_value=2**63 - 1 if "Big" in kind else 2**31 - 1,
            )
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def _money_names(self, names):
        return [f"{n}{SUFFIX}" if isinstance(n, str) and n in self.money_fields else n for n in names]

    def get_list_display(self, request):
        return self._money_names(super().get_list_display(request))

    def get_readonly_fields(self, request, obj=None):
        return self._money_names(super().get_readonly_fields(request, obj))

    def _columns(self, request, obj) -> set[str]:
        """Money fields shown by their column (`<name>_yuan`) rather than typed: all of them on a
        view-only page, else the read-only ones."""
        if not self.has_change_permission(request, obj):
            return set(self.money_fields)
        readonly = self.get_readonly_fields(request, obj)
        return {n[: -len(SUFFIX)] for n in readonly if isinstance(n, str) and n.endswith(SUFFIX)}

    def get_fields(self, request, obj=None):
        columns = self._columns(request, obj)

        def shown(name):
            if isinstance(name, (tuple, list)):  # fields on one line
                return tuple(shown(n) for n in name)
            return f"{name}{SUFFIX}" if name in columns else name

        fields = list(dict.fromkeys(shown(n) for n in super().get_fields(request, obj)))
        if self.fields is None:
            self._put_back_columns(fields, columns)
        return fields

    def _put_back_columns(self, fields: list, columns: set[str]) -> None:
        """Django lists a page's fields from its form, which leaves out the money fields shown by
        their column: on a view-only page they would not be shown at all. Each goes back after the
        nearest model field before it."""
        order = [f.name for f in self.model._meta.fields]
        for name in sorted((n for n in columns if n in order), key=order.index):
            column = f"{name}{SUFFIX}"
            if column in fields or name in fields:
                continue
            position = len(fields)
            for before in reversed(order[: order.index(name)]):
                found = next((c for c in (before, f"{before}{SUFFIX}") if c in fields), None)
                if found is not None:
                    position = fields.index(found) + 1
                    break
            fields.insert(position, column)

    def _form_kwargs(self, request, obj, kwargs) -> dict:
        # A money field shown by its column stays out of the form, as Django does for the read-only
        # fields it knows; the column's name is no form field.
        columns = self._columns(request, obj)
        if columns:
            if kwargs.get("fields"):
                kwargs["fields"] = [n for n in kwargs["fields"] if not (isinstance(n, str) and n.endswith(SUFFIX))]
            if "exclude" not in kwargs:
                kwargs["exclude"] = [*(self.exclude or []), *self.get_readonly_fields(request, obj), *columns]
        return kwargs

    def get_form(self, request, obj=None, change=False, **kwargs):
        return super().get_form(request, obj, change=change, **self._form_kwargs(request, obj, kwargs))

    def get_formset(self, request, obj=None, **kwargs):
        return super().get_formset(request, obj, **self._form_kwargs(request, obj, kwargs))

    def __getattr__(self, name):
        model = self.__dict__.get("model") or getattr(type(self), "model", None)
        if model is not None and name.endswith(SUFFIX) and name[: -len(SUFFIX)] in type(self).money_fields:
            return money_column(model, name[: -len(SUFFIX)])
        raise AttributeError(name)
