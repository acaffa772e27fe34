"""The starred-sync state is the star graph's (its own table copies the values first)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('users', '0002_starred_sync_not_before_drop_task_id'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='githubuser',
            name='starred_synced_at',
        ),
        migrations.RemoveField(
            model_name='githubuser',
            name='starred_sync_not_before',
        ),
    ]
