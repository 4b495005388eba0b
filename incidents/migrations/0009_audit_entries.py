"""The audit of every write, append-only in the database itself like the public event log:
the same trigger function (0008) refuses UPDATE and DELETE of its rows."""

from importlib import import_module

from django.db import migrations, models

append_only = import_module("incidents.migrations.0008_append_only_in_the_database")

TABLE = "incidents_auditentry"


def create(apps, schema_editor):
    append_only.create_triggers(schema_editor, TABLE)


def drop(apps, schema_editor):
    append_only.drop_triggers(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_append_only_in_the_database"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(db_index=True)),
                ("action", models.CharField(db_index=True, max_length=48)),
                ("target_type", models.CharField(max_length=32)),
                ("target_id", models.CharField(blank=True, max_length=64)),
                ("target_label", models.CharField(blank=True, max_length=200)),
                ("user_id", models.IntegerField(blank=True, null=True)),
                ("username", models.CharField(blank=True, max_length=150)),
                (
                    "via",
                    models.CharField(
                        choices=[
                            ("admin", "Admin"),
                            ("api", "API token"),
                            ("task", "Scheduled task"),
                            ("command", "Command"),
                            ("public", "Public form"),
                            ("system", "System"),
                        ],
                        max_length=16,
                    ),
                ),
                ("token_id", models.IntegerField(blank=True, null=True)),
                ("address", models.GenericIPAddressField(blank=True, null=True)),
                ("changes", models.JSONField(blank=True, default=dict)),
            ],
            options={"ordering": ["-at", "-id"], "verbose_name_plural": "audit entries"},
        ),
        migrations.RunPython(create, drop),
    ]
