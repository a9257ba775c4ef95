"""Bulk customers for load tests and demos: one password hash for all, bulk inserts."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from wallet.models import LedgerEntry, Wallet

User = get_user_model()


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
        taken = set(User.objects.filter(username__in=names).values_list("username", flat=True))
        if taken:
            raise CommandError(f"{len(taken)} of these usernames exist already, e.g. {sorted(taken)[0]}")
        hashed = make_password(password)
        with transaction.atomic():
            User.objects.bulk_create([User(username=n, password=hashed) for n in names], batch_size=1000)
            users = list(User.objects.filter(username__in=names).order_by("id"))
            tokens = [Token(user=u, key=Token.generate_key()) for u in users]
            Token.objects.bulk_create(tokens, batch_size=1000)
            wallets = Wallet.objects.bulk_create([Wallet(user=u, balance=balance) for u in users], batch_size=1000)
            if balance:
                LedgerEntry.objects.bulk_create(
                    [
                        LedgerEntry(
                            wallet=w,
                            kind=LedgerEntry.Kind.TOPUP,
                            amount=balance,
                            balance_before=0,
                            balance_after=balance,
                            memo="Opening balance",
                            idempotency_key="opening-balance",
                        )
                        for w in wallets
                    ],
                    batch_size=1000,
                )
        by_user = {t.user_id: t.key for t in tokens}
        self.stdout.write("\n".join(f"{u.username} {by_user[u.id]}" for u in users))
