"""The public event log and the component status log are append-only in the database
itself: triggers refuse UPDATE and DELETE of their rows, whatever issues them (issue #12:
`_base_manager.update()`, `QuerySet(model).update()`, `_raw_delete()` and raw SQL all
changed rows). `incidents.models.append_only_lifted()` stands them down for a wipe of the
whole database (`manage.py flush`); PostgreSQL's TRUNCATE does not fire row triggers."""

import django.db.models.deletion
from django.db import migrations, models

TABLES = ("incidents_publicevent", "incidents_componentstatuschange")
LIFT_TABLE = "incidents_append_only_lifted"
LIFT_SETTING = "statuspage.append_only_lifted"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION incidents_refuse_rewrite() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('{LIFT_SETTING}', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql;
"""


def create_triggers(schema_editor, table: str) -> None:
    """Refuse UPDATE and DELETE on `table` (the PostgreSQL function must exist)."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION incidents_refuse_rewrite()"
        )
    elif vendor == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table}"
                f" WHEN NOT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{LIFT_TABLE}')"
                f" BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )


def drop_triggers(schema_editor, table: str) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    elif vendor == "sqlite":
        for operation in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION, params=None)  # its % are RAISE placeholders
    for table in TABLES:
        create_triggers(schema_editor, table)


def drop(apps, schema_editor):
    for table in TABLES:
        drop_triggers(schema_editor, table)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS incidents_refuse_rewrite()")


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0007_history_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="publicevent",
            name="component",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to="incidents.component"
            ),
        ),
        migrations.AlterField(
            model_name="publicevent",
            name="incident",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to="incidents.incident"
            ),
        ),
        migrations.RunPython(create, drop),
    ]
