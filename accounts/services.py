"""Every write of accounts: customers (one by one, or in bulk for load tests), operators and their
organizations, and the housekeeping of stored Idempotency-Key answers."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_noop
from rest_framework.authtoken.models import Token

from config.errors import DomainError

from .models import IdempotencyRecord, Operator, Organization
from .signals import customer_registered
from .tokens import tokens_issued
from .usernames import username_problem, validate_username

User = get_user_model()


def customer_register(*, username: str, password: str) -> tuple[AbstractBaseUser, Token]:
    """Create a customer and an API token, atomically (listeners of `customer_registered`, such as
    the wallet, write in the same transaction)."""
    problem = username_problem(username)
    if problem:
        raise DomainError("validation_error", problem, details={"username": [problem]})
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, password=password)
            token = Token.objects.create(user=user)
            customer_registered.send(sender=User, user=user)
            tokens_issued([(token.key, user)])
    except IntegrityError as exc:
        raise DomainError(
            "validation_error",
            gettext_noop("This username is taken."),
            details={"username": ["This username is taken."]},
        ) from exc
    return user, token


def customers_create_bulk(*, usernames: list[str], password: str) -> list[tuple[AbstractBaseUser, str]]:
    """Many customers at once (load tests, demos): one password hash for all, bulk inserts. Returns
    (user, token key) pairs in id order. Must run inside the caller's transaction."""
    for name in usernames:
        problem = username_problem(name)
        if problem:
            raise DomainError("validation_error", problem, details={"usernames": [name]})
    taken = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise DomainError(
            "validation_error",
            f"{len(taken)} of these usernames exist already, e.g. {sorted(taken)[0]}.",
            details={"usernames": sorted(taken)[:10]},
        )
    hashed = make_password(password)
    User.objects.bulk_create([User(username=n, password=hashed) for n in usernames], batch_size=1000)
    users = list(User.objects.filter(username__in=usernames).order_by("id"))
    tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users], batch_size=1000)
    by_user = {t.user_id: t.key for t in tokens}
    pairs = [(u, by_user[u.pk]) for u in users]
    tokens_issued([(key, u) for u, key in pairs])
    return pairs


def operator_create(
    *, organization_name: str, username: str, password: str, role: str = Operator.Role.OWNER
) -> Operator:
    """Create the organization if new and an operator user who administers it (admin + API)."""
    if role not in Operator.Role.values:
        raise ValueError(f"role must be one of {', '.join(Operator.Role.values)}")
    validate_username(username)
    validate_password(password, user=User(username=username))
    with transaction.atomic():
        org, _ = Organization.objects.get_or_create(name=organization_name.strip())
        user = User.objects.create_user(username=username, password=password, is_staff=True)
        operator = Operator.objects.create(user=user, organization=org, role=role)
        Token.objects.get_or_create(user=user)
    return operator


def superuser_ensure(*, username: str, email: str, password: str) -> AbstractBaseUser:
    """The platform's superuser (demo data, first start): created once, left alone afterwards."""
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    return User.objects.create_superuser(username=username, email=email, password=password)


def idempotency_records_purge(*, before: datetime) -> int:
    """Delete stored Idempotency-Key answers created before `before`; returns how many."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=before).delete()
    return deleted


def user_tokens_revoke(*, user_id: int) -> int:
    """Delete every API token of a user; each is marked revoked for every process (accounts/tokens.py,
    through the Token deletion signal). Returns how many were deleted."""
    with transaction.atomic():
        deleted, _ = Token.objects.filter(user_id=user_id).delete()
    return deleted
