"""The starred-sync state moves from the users table to a star-graph table of its own.

The values are copied here; users' `0003_starred_sync_fields_drop` (which runs after
this one) drops the old columns. Reversed, the columns come back first and get the
values again before this table goes.
"""

import django.db.models.deletion
from django.db import migrations, models

COPY = """
    INSERT INTO gazer_account_starred_sync (user_id, synced_at, not_before)
    SELECT id, starred_synced_at, starred_sync_not_before FROM gazer_github_user
    WHERE starred_synced_at IS NOT NULL OR starred_sync_not_before IS NOT NULL
"""
COPY_BACK = """
    UPDATE gazer_github_user u
    SET starred_synced_at = s.synced_at, starred_sync_not_before = s.not_before
    FROM gazer_account_starred_sync s WHERE s.user_id = u.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ('stargazers', '0002_accountstarsignals'),
        ('users', '0002_starred_sync_not_before_drop_task_id'),
    ]
    run_before = [
        ('users', '0003_starred_sync_fields_drop'),
    ]

    operations = [
        migrations.CreateModel(
            name='AccountStarredSync',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='starred_sync', serialize=False, to='users.githubuser')),
                ('synced_at', models.DateTimeField(blank=True, null=True)),
                ('not_before', models.DateTimeField(blank=True, null=True)),
            ],
            options={
                'db_table': 'gazer_account_starred_sync',
            },
        ),
        migrations.RunSQL(COPY, COPY_BACK),
    ]
