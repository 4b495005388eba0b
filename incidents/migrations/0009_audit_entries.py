"""The audit of every write, append-only in the database itself like the public event log:
the same trigger function (0008) refuses UPDATE and DELETE of its rows."""

from django.db import migrations, models

TABLE = "incidents_auditentry"
LIFT_TABLE = "incidents_append_only_lifted"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE}"
            " FOR EACH ROW EXECUTE FUNCTION incidents_refuse_rewrite()"
        )
    elif vendor == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {TABLE}_no_{operation.lower()} BEFORE {operation} ON {TABLE}"
                f" WHEN NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{LIFT_TABLE}')"
                f" BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only: {operation} refused'); END"
            )


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}")
    elif vendor == "sqlite":
        for operation in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_no_{operation}")


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
