"""Trading modes of trading products, their append-only log (the same trigger function as
0008 refuses UPDATE and DELETE of its rows), and maintenance's pre-open phase."""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


append_only = import_module("incidents.migrations.0008_append_only_in_the_database")

TABLE = "incidents_tradingmodechange"


def create(apps, schema_editor):
    append_only.create_triggers(schema_editor, TABLE)


def drop(apps, schema_editor):
    append_only.drop_triggers(schema_editor, TABLE)


class Migration(migrations.Migration):

    dependencies = [
        ('incidents', '0011_subscriber_language'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='component',
            name='trading',
            field=models.BooleanField(default=False, help_text='A market traders place orders on: it has a trading mode.', verbose_name='trading product'),
        ),
        migrations.AddField(
            model_name='component',
            name='trading_mode',
            field=models.CharField(choices=[('normal', 'Normal trading'), ('pre_open', 'Pre-open'), ('cancel_only', 'Cancel only'), ('post_only', 'Post only'), ('limit_only', 'Limit orders only'), ('reduce_only', 'Reduce only'), ('halted', 'Trading halted')], default='normal', max_length=16),
        ),
        migrations.AddField(
            model_name='incident',
            name='auto_pre_open',
            field=models.BooleanField(default=False, help_text='Enter the pre-open phase by itself at its planned start.'),
        ),
        migrations.AlterField(
            model_name='incident',
            name='pre_open_at',
            field=models.DateTimeField(blank=True, help_text='Start of the pre-open phase, if any (planned, then as it happened).', null=True),
        ),
        migrations.AlterField(
            model_name='incident',
            name='status',
            field=models.CharField(choices=[('investigating', 'Investigating'), ('identified', 'Identified'), ('monitoring', 'Monitoring'), ('resolved', 'Resolved'), ('postmortem', 'Postmortem'), ('scheduled', 'Scheduled'), ('in_progress', 'In progress'), ('verifying', 'Verifying'), ('pre_open', 'Pre-open'), ('completed', 'Completed'), ('cancelled', 'Cancelled')], max_length=16),
        ),
        migrations.AlterField(
            model_name='incidentupdate',
            name='status',
            field=models.CharField(choices=[('investigating', 'Investigating'), ('identified', 'Identified'), ('monitoring', 'Monitoring'), ('resolved', 'Resolved'), ('postmortem', 'Postmortem'), ('scheduled', 'Scheduled'), ('in_progress', 'In progress'), ('verifying', 'Verifying'), ('pre_open', 'Pre-open'), ('completed', 'Completed'), ('cancelled', 'Cancelled')], max_length=16),
        ),
        migrations.CreateModel(
            name='TradingModeChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('old_mode', models.CharField(choices=[('normal', 'Normal trading'), ('pre_open', 'Pre-open'), ('cancel_only', 'Cancel only'), ('post_only', 'Post only'), ('limit_only', 'Limit orders only'), ('reduce_only', 'Reduce only'), ('halted', 'Trading halted')], max_length=16)),
                ('new_mode', models.CharField(choices=[('normal', 'Normal trading'), ('pre_open', 'Pre-open'), ('cancel_only', 'Cancel only'), ('post_only', 'Post only'), ('limit_only', 'Limit orders only'), ('reduce_only', 'Reduce only'), ('halted', 'Trading halted')], max_length=16)),
                ('changed_at', models.DateTimeField()),
                ('recorded_at', models.DateTimeField(auto_now_add=True)),
                ('actor_label', models.CharField(max_length=150)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to=settings.AUTH_USER_MODEL)),
                ('component', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='trading_mode_changes', to='incidents.component')),
                ('incident', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='trading_mode_changes', to='incidents.incident')),
                ('update', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='trading_mode_changes', to='incidents.incidentupdate')),
            ],
            options={
                'ordering': ['changed_at', 'id'],
                'indexes': [models.Index(fields=['component', 'changed_at'], name='trading_mode_timeline')],
            },
        ),
        migrations.RunPython(create, drop),
    ]
