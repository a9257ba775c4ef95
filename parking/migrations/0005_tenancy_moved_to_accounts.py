import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """accounts/0001 owns Organization and Operator now: the lot's foreign key follows and parking
    lets go of both models (state only; the tables stay, under their accounts names)."""

    dependencies = [
        ("parking", "0004_tenancy_tables_for_accounts"),
        ("accounts", "0001_initial"),
        ("coupons", "0002_organization_in_accounts"),
        ("orders", "0004_organization_in_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="lot",
                    name="organization",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="lots", to="accounts.organization"
                    ),
                ),
                migrations.DeleteModel(name="Operator"),
                migrations.DeleteModel(name="Organization"),
            ],
            database_operations=[],
        )
    ]
