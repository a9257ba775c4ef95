import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Organization lives in accounts now (same table): the foreign keys follow, in state only."""

    dependencies = [("orders", "0003_limit_rule_periods_bounded"), ("accounts", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order",
                    name="organization",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="orders", to="accounts.organization"
                    ),
                ),
                migrations.AlterField(
                    model_name="compensationrun",
                    name="organization",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="compensation_runs",
                        to="accounts.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="purchaselimitrule",
                    name="organization",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="purchase_limit_rules",
                        to="accounts.organization",
                    ),
                ),
            ],
            database_operations=[],
        )
    ]
