"""The one username rule: every way an account is made (the register API and page, bulk customers,
operators) checks it here, and the token endpoint accepts every name it allows."""

import re

from django.core.exceptions import ValidationError

MIN_LENGTH = 3
MAX_LENGTH = 150
PATTERN = r"^[\w.@+-]+\Z"
_RE = re.compile(PATTERN)
RULE = f"{MIN_LENGTH} to {MAX_LENGTH} characters: letters, digits and . @ + - _"


def username_problem(name: str) -> str | None:
    """None when `name` is a valid username, else what is wrong with it, in words."""
    if len(name) < MIN_LENGTH:
        return f"A username has at least {MIN_LENGTH} characters ({name!r} has {len(name)})."
    if len(name) > MAX_LENGTH:
        return f"A username has at most {MAX_LENGTH} characters."
    if not _RE.match(name):
        return "A username holds only letters, digits and . @ + - _"
    return None


def validate_username(name: str) -> None:
    """Django validator (forms, serializers): ValidationError with the rule in words."""
    problem = username_problem(name)
    if problem:
        raise ValidationError(problem, code="invalid_username")
