"""Licence plates of mainland China: normalization and validation (pure).

A plate is normalized to upper case without spaces, dots, middle dots or dashes: "粤b 123.45" and
"粤B·12345" both become "粤B12345". Valid plates:
- regular (7 characters): province, city letter, 4 letters or digits (no I or O), and a last
  character that may also be 挂 (trailer), 学 (learner), 警 (police), 港 or 澳;
- new-energy (8 characters): province, city letter, then D or F followed by a letter or digit and
  4 digits (small new-energy cars), or 5 digits followed by D or F (large new-energy vehicles).
"""

import re

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
        raise DomainError("validation_error", "This is not a valid licence plate.", details={"plate": [PLATE_HINT]})
    return plate
