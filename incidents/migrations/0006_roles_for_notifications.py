"""Give the operator roles their permissions on the notification models."""

from django.db import migrations

from incidents.roles import grant_roles


def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    grant_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0005_notifications")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
