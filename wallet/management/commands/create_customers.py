"""Bulk customers for load tests and demos: one password hash for all, bulk inserts, funded wallets.
(It lives in wallet, not accounts, because it opens and funds the wallets too.)"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.services import customers_create_bulk
from accounts.usernames import username_problem
from config.errors import DomainError
from wallet.services import wallets_open_bulk


class Command(BaseCommand):
    help = "Create customers PREFIX1..PREFIXN with tokens (and funded wallets); prints 'username token' lines."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--prefix", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--balance", type=int, default=0, help="Opening balance in minor units.")

    def handle(self, *args, count, prefix, password, balance, **options):
        if count < 1:
            raise CommandError("--count must be at least 1")
        if balance < 0:
            raise CommandError("--balance must not be negative")
        names = [f"{prefix}{i}" for i in range(1, count + 1)]
        for name in (names[0], names[-1]):  # the shortest and the longest: the same rule as sign-up
            problem = username_problem(name)
            if problem:
                raise CommandError(f"--prefix {prefix!r} makes usernames such as {name!r}: {problem}")
        try:
            with transaction.atomic():
                created = customers_create_bulk(usernames=names, password=password)
                wallets_open_bulk(users=[user for user, _key in created], balance=balance)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write("\n".join(f"{user.username} {key}" for user, key in created))
