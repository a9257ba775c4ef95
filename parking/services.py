"""Organizations and operators (lots, tariffs and gate events follow in this module)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import Operator, Organization

User = get_user_model()


def operator_create(
    *, organization_name: str, username: str, password: str, role: str = Operator.Role.OWNER
) -> Operator:
    """Create the organization if new and an operator user who administers it (admin + API)."""
    if role not in Operator.Role.values:
        raise ValueError(f"role must be one of {', '.join(Operator.Role.values)}")
    validate_password(password, user=User(username=username))
    with transaction.atomic():
        org, _ = Organization.objects.get_or_create(name=organization_name.strip())
        user = User.objects.create_user(username=username, password=password, is_staff=True)
        operator = Operator.objects.create(user=user, organization=org, role=role)
        Token.objects.get_or_create(user=user)
    return operator
