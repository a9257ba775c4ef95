from django.db import migrations


class Migration(migrations.Migration):
    """Usernames are unique whatever their case ("Bob" and "bob" are one account): the register
    check says so, and this index makes two racing sign-ups unable to both succeed."""

    dependencies = [("wallet", "0003_ledger_entry_plural"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunSQL(
            "CREATE UNIQUE INDEX auth_user_username_ci_uniq ON auth_user (LOWER(username));",
            reverse_sql="DROP INDEX auth_user_username_ci_uniq;",
        )
    ]
