from django.db import migrations


class Migration(migrations.Migration):
    """accounts/0001 owns IdempotencyRecord now: wallet lets go of it (state only; the table stays)."""

    dependencies = [("wallet", "0005_idempotency_table_for_accounts"), ("accounts", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")], database_operations=[]
        )
    ]
