from django.db import migrations


class Migration(migrations.Migration):
    """Organizations and operators move to the accounts app (the ground floor). Step 1 of 3: their
    tables take the accounts app's names; no row moves (accounts/migrations/0001 takes over the
    models, 0005 here lets go of them)."""

    dependencies = [("parking", "0003_session_tariff")]

    operations = [
        migrations.AlterModelTable(name="organization", table="accounts_organization"),
        migrations.AlterModelTable(name="operator", table="accounts_operator"),
    ]
