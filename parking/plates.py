"""Licence plates: normalization, the mainland civil rule, and what kind of plate a camera read (pure).

A plate is normalized to upper case without spaces, dots, middle dots or dashes: "粤b 123.45" and
"粤B·12345" both become "粤B12345". Valid plates:
- regular (7 characters): province, city letter, 4 letters or digits (no I or O), and a last
  character that may also be 挂 (trailer), 学 (learner), 警 (police), 港 or 澳;
- new-energy (8 characters): province, city letter, then D or F followed by a letter or digit and
  4 digits (small new-energy cars), or 5 digits followed by D or F (large new-energy vehicles).

A gate camera reads whatever is on the car: embassy (使) and consulate (领) plates, military and
armed-police (WJ) plates, temporary plates (临), Hong Kong and Macau cross-border plates (粤Z…港/澳)
and their own plates, foreign plates. A camera event takes any of them (`camera_plate`) and the stay
records its `plate_kind`, so the operator sees the unusual ones. A customer registering a vehicle
gets the rule `settings.VEHICLE_PLATE_RULE` names: "cn" (the mainland civil rule) or "any".
"""

import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from config.errors import DomainError

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_SERIAL = "A-HJ-NP-Z0-9"  # letters I and O are never used
_REGULAR = re.compile(rf"^[{PROVINCES}][A-Z][{_SERIAL}]{{4}}[{_SERIAL}挂学警港澳]$")
_NEW_ENERGY = re.compile(rf"^[{PROVINCES}][A-Z](?:[DF][{_SERIAL}][0-9]{{4}}|[0-9]{{5}}[DF])$")
_STRIP = re.compile(r"[\s.\-·•_]+")


def normalize_plate(raw: str) -> str:
    return _STRIP.sub("", raw).upper()


def is_valid_plate(plate: str) -> bool:
    return bool(_REGULAR.match(plate) or _NEW_ENERGY.match(plate))


def is_new_energy_plate(plate: str) -> bool:
    return bool(_NEW_ENERGY.match(plate))


PLATE_HINT = "Enter a plate such as 粤B12345 (or 粤BD12345 for a new-energy car)."


def clean_plate(raw: str) -> str:
    """The normalized plate, or a `validation_error` (DomainError) saying what a plate looks like."""
    plate = normalize_plate(raw or "")
    if not is_valid_plate(plate):
        raise DomainError(
            "validation_error", gettext_noop("This is not a valid licence plate."), details={"plate": [PLATE_HINT]}
        )
    return plate


# --- what a camera reads ------------------------------------------------------------------------

MAX_PLATE_LENGTH = 16
CAMERA_PLATE_HINT = f"A plate as the camera read it: 1 to {MAX_PLATE_LENGTH} printable characters."


class PlateKind(models.TextChoices):
    MAINLAND = "mainland", _("Mainland civil")
    HONG_KONG = "hong_kong", _("Hong Kong")
    MACAU = "macau", _("Macau")
    EMBASSY = "embassy", _("Embassy")
    CONSULATE = "consulate", _("Consulate")
    MILITARY = "military", _("Military")
    ARMED_POLICE = "armed_police", _("Armed police")
    TEMPORARY = "temporary", _("Temporary")
    FOREIGN = "foreign", _("Foreign or unrecognised")


_CROSS_BORDER = re.compile(rf"^粤Z[{_SERIAL}]{{4}}([港澳])$")
_MACAU_OWN = re.compile(r"^M[A-Z][0-9]{4}$")  # MA-12-34
_HONG_KONG_OWN = re.compile(r"^[A-Z]{1,2}[0-9]{1,4}$")  # AB 1234
_MILITARY = re.compile(r"^[A-Z]{2}[0-9]{5}$")  # KA·12345


def plate_kind(plate: str) -> PlateKind:
    """What kind of plate a normalized plate is; anything but MAINLAND deserves the operator's eye."""
    cross_border = _CROSS_BORDER.match(plate)
    if cross_border:
        return PlateKind.HONG_KONG if cross_border.group(1) == "港" else PlateKind.MACAU
    if "使" in plate:
        return PlateKind.EMBASSY
    if "领" in plate:
        return PlateKind.CONSULATE
    if plate.startswith("WJ"):
        return PlateKind.ARMED_POLICE
    if "临" in plate:
        return PlateKind.TEMPORARY
    if is_valid_plate(plate):
        return PlateKind.MAINLAND
    if _MILITARY.match(plate):
        return PlateKind.MILITARY
    if _MACAU_OWN.match(plate):
        return PlateKind.MACAU
    if _HONG_KONG_OWN.match(plate):
        return PlateKind.HONG_KONG
    return PlateKind.FOREIGN


def camera_plate(raw: str) -> str:
    """A plate as a gate camera read it, normalized like every plate (no spaces or separators,
    upper case) and otherwise kept as read: any non-empty printable text up to 16 characters."""
    plate = normalize_plate(raw or "")
    if not plate or len(plate) > MAX_PLATE_LENGTH or not plate.isprintable():
        raise DomainError("validation_error", "This is not a plate.", details={"plate": [CAMERA_PLATE_HINT]})
    return plate


def registration_plate(raw: str) -> str:
    """A plate a customer registers, under the rule `settings.VEHICLE_PLATE_RULE` names."""
    rule = settings.VEHICLE_PLATE_RULE
    if rule == "cn":
        return clean_plate(raw)
    if rule == "any":
        return camera_plate(raw)
    raise ImproperlyConfigured(f'VEHICLE_PLATE_RULE must be "cn" or "any", not {rule!r}.')


def registration_hint() -> str:
    return PLATE_HINT if settings.VEHICLE_PLATE_RULE == "cn" else CAMERA_PLATE_HINT
