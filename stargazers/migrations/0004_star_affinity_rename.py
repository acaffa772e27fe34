"""The per-account kindred and ranking features are the star affinity: the model, its
table and its index take that name (the data stays)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('stargazers', '0003_account_starred_sync'),
    ]

    operations = [
        migrations.RenameModel(old_name='AccountStarSignals', new_name='AccountStarAffinity'),
        migrations.AlterModelTable(name='accountstaraffinity', table='gazer_account_star_affinity'),
        migrations.RenameIndex(
            model_name='accountstaraffinity',
            new_name='star_affinity_stale_idx',
            old_name='star_signals_stale_idx',
        ),
    ]
