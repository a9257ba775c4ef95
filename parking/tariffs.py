"""The tariff engine: pure functions, no database, no clock.

The contract's rule (API.md, "Tariff"): a stay of `m` minutes (rounded up) costs nothing when
`m <= free_minutes`. Otherwise it is split into whole 24-hour windows counted from entry
(`k = m // 1440`) and a remainder `r = m - 1440*k`. A window of `x` minutes costs `first_price`
when `x <= first_minutes`, else `first_price + ceil((x - first_minutes) / unit_minutes) * unit_price`,
never more than `cap_per_24h`. The fee is `k * cost(1440) + (cost(r) if r > 0 else 0)`.

Beyond the contract, a rule may carry a night rate: a local-time window (e.g. 22:00 to 07:00) in
which a started unit costs `night.unit_price` instead of `unit_price`, with the night units of one
24-hour window capped at `night.cap`. A unit is a night unit when the minute it starts falls in the
window. Without a night rate the engine is exactly the contract's rule. Every 24-hour window starts
at the same local minute of the day (the entry's), so `k * cost(1440)` still holds, and pricing any
stay takes at most two window computations (each at most 1440 / unit_minutes steps).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, tzinfo
from typing import Any

from django.utils.translation import gettext_noop

from config.errors import DomainError

DAY = 1440
# Ten thousand in major units per unit or per day: keeps any stay's fee far inside the database's
# integer range (a year at the highest cap is 3.66e8 minor units).
MAX_PRICE = 1_000_000


@dataclass(frozen=True)
class NightRate:
    start: time
    end: time
    unit_price: int
    cap: int | None = None

    def covers(self, minute_of_day: int) -> bool:
        s = self.start.hour * 60 + self.start.minute
        e = self.end.hour * 60 + self.end.minute
        if s < e:
            return s <= minute_of_day < e
        return minute_of_day >= s or minute_of_day < e  # wraps past midnight


@dataclass(frozen=True)
class TariffRule:
    free_minutes: int = 15
    first_minutes: int = 60
    first_price: int = 500
    unit_minutes: int = 30
    unit_price: int = 200
    cap_per_24h: int = 3000
    night: NightRate | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "free_minutes": self.free_minutes,
            "first_minutes": self.first_minutes,
            "first_price": self.first_price,
            "unit_minutes": self.unit_minutes,
            "unit_price": self.unit_price,
            "cap_per_24h": self.cap_per_24h,
        }
        if self.night is not None:
            data["night"] = {
                "start": self.night.start.strftime("%H:%M"),
                "end": self.night.end.strftime("%H:%M"),
                "unit_price": self.night.unit_price,
                "cap": self.night.cap,
            }
        return data


# --- validation -------------------------------------------------------------------------------

_INT_FIELDS = {
    # name: (minimum, maximum)
    "free_minutes": (0, DAY),
    "first_minutes": (1, DAY),
    "first_price": (0, MAX_PRICE),
    "unit_minutes": (1, DAY),
    "unit_price": (0, MAX_PRICE),
    "cap_per_24h": (0, MAX_PRICE),
}


def _int(value: Any, lo: int, hi: int, errors: dict, name: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors[name] = ["Must be a whole number."]
        return None
    if value < lo:
        errors[name] = [f"Must be at least {lo}."]
        return None
    if value > hi:
        errors[name] = [f"Must be at most {hi}."]
        return None
    return value


def _clock(value: Any, errors: dict, name: str) -> time | None:
    if isinstance(value, str):
        try:
            parsed = datetime.strptime(value, "%H:%M").time()
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed
    errors[name] = ["Must be a time of day as HH:MM."]
    return None


def parse_rule(data: Any, *, field: str = "tariff") -> TariffRule:
    """Validate a tariff given as JSON and return the rule. Missing fields take the contract's
    example values; anything invalid is a `validation_error` listing every problem."""
    if not isinstance(data, Mapping):
        raise DomainError(
            "validation_error", gettext_noop("The tariff must be an object."), details={field: ["Must be an object."]}
        )
    unknown = set(data) - set(_INT_FIELDS) - {"night"}
    errors: dict[str, Any] = {}
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]
    values: dict[str, int] = {}
    for name, (lo, hi) in _INT_FIELDS.items():
        if name in data:
            got = _int(data[name], lo, hi, errors, name)
            if got is not None:
                values[name] = got
        else:
            values[name] = getattr(TariffRule, name)
    if "cap_per_24h" not in errors and "first_price" not in errors and values["cap_per_24h"] < values["first_price"]:
        errors["cap_per_24h"] = ["Must be at least first_price."]
    night = None
    raw_night = data.get("night")
    if raw_night is not None:
        night_errors: dict[str, Any] = {}
        if not isinstance(raw_night, Mapping):
            errors["night"] = {"non_field_errors": ["Must be an object or null."]}
        else:
            for name in sorted(set(raw_night) - {"start", "end", "unit_price", "cap"}):
                night_errors[name] = ["Unknown field."]
            start = _clock(raw_night.get("start"), night_errors, "start")
            end = _clock(raw_night.get("end"), night_errors, "end")
            if start is not None and end is not None and start == end:
                night_errors["end"] = ["Must differ from start."]
            n_price = _int(raw_night.get("unit_price"), 0, MAX_PRICE, night_errors, "unit_price")
            n_cap = None
            if raw_night.get("cap") is not None:
                n_cap = _int(raw_night["cap"], 0, MAX_PRICE, night_errors, "cap")
            if night_errors:
                errors["night"] = night_errors
            else:
                night = NightRate(start=start, end=end, unit_price=n_price, cap=n_cap)
    if errors:
        raise DomainError("validation_error", gettext_noop("The tariff is not valid."), details={field: errors})
    return TariffRule(night=night, **values)


# --- pricing ----------------------------------------------------------------------------------


def stay_minutes(entered_at: datetime, exited_at: datetime) -> int:
    """Length of a stay in minutes, rounded up. An exit before the entry is a validation error."""
    seconds = (exited_at - entered_at).total_seconds()
    if seconds < 0:
        raise DomainError(
            "validation_error",
            gettext_noop("The exit is before the entry."),
            details={"exited_at": ["Must not be before entered_at."]},
        )
    return math.ceil(seconds / 60)


def window_cost(rule: TariffRule, x: int, start_minute_of_day: int = 0) -> int:
    """Price of one 24-hour window of `x` minutes (0 < x <= 1440) starting at a local minute of day."""
    if x <= 0:
        return 0
    if x <= rule.first_minutes:
        return min(rule.first_price, rule.cap_per_24h)
    units = math.ceil((x - rule.first_minutes) / rule.unit_minutes)
    if rule.night is None:
        return min(rule.first_price + units * rule.unit_price, rule.cap_per_24h)
    day_total = rule.first_price
    night_total = 0
    night_cap = rule.night.cap
    for j in range(units):
        starts = (start_minute_of_day + rule.first_minutes + j * rule.unit_minutes) % DAY
        if rule.night.covers(starts):
            night_total += rule.night.unit_price
            if night_cap is not None:
                night_total = min(night_total, night_cap)
        else:
            day_total += rule.unit_price
        if day_total + night_total >= rule.cap_per_24h:
            return rule.cap_per_24h
    return day_total + night_total


def fee_for_minutes(rule: TariffRule, m: int, start_minute_of_day: int = 0) -> int:
    """The contract's fee of a stay of `m` whole minutes (windows start at a local minute of day)."""
    if m < 0:
        raise ValueError("a stay cannot be negative")
    if m <= rule.free_minutes:
        return 0
    k, r = divmod(m, DAY)
    fee = k * window_cost(rule, DAY, start_minute_of_day) if k else 0
    if r > 0:
        fee += window_cost(rule, r, start_minute_of_day)
    return fee


def minute_of_day(at: datetime, tz: tzinfo | None) -> int:
    local = at.astimezone(tz) if tz is not None else at
    return local.hour * 60 + local.minute


def fee_for_stay(
    rule: TariffRule, entered_at: datetime, exited_at: datetime, *, tz: tzinfo | None = None, minutes_off: int = 0
) -> int:
    """Fee of a stay between two instants; `minutes_off` shortens the stay before pricing (a
    `minutes` coupon). Night windows are read in `tz` (the product's time zone)."""
    m = stay_minutes(entered_at, exited_at)
    return fee_for_minutes(rule, max(0, m - minutes_off), minute_of_day(entered_at, tz))


# --- coupons ----------------------------------------------------------------------------------


def percent_off(amount: int, percent: int) -> int:
    """`percent` % of `amount`, rounded half up to a whole minor unit."""
    return (amount * percent + 50) // 100
