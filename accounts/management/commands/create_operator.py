from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Operator
from accounts.services import operator_create


class Command(BaseCommand):
    help = "Create an organization (if new) and an operator user who administers it."

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True)
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", default=Operator.Role.OWNER, choices=Operator.Role.values)

    def handle(self, *args, organization, username, password, role, **options):
        if get_user_model().objects.filter(username=username).exists():
            raise CommandError(f"User {username!r} already exists.")
        try:
            op = operator_create(organization_name=organization, username=username, password=password, role=role)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"Operator {op.user.username} ({op.role}) of organization {op.organization.name!r} "
            f"(id {op.organization.id}) created; token {op.user.auth_token.key}"
        )
