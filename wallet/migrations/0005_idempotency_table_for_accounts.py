from django.db import migrations


class Migration(migrations.Migration):
    """Idempotency-Key answers move to the accounts app: the table takes its new name; the rows stay
    (a retry within the week still gets its first answer across the upgrade)."""

    dependencies = [("wallet", "0004_username_unique_ignoring_case")]

    operations = [migrations.AlterModelTable(name="idempotencyrecord", table="accounts_idempotencyrecord")]
