import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Organization lives in accounts now (same table): the foreign keys follow, in state only."""

    dependencies = [("coupons", "0001_initial"), ("accounts", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="voucher",
                    name="organization",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="vouchers", to="accounts.organization"
                    ),
                ),
                migrations.AlterField(
                    model_name="alert",
                    name="organization",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="alerts", to="accounts.organization"
                    ),
                ),
            ],
            database_operations=[],
        )
    ]
