"""Give the operator roles their permissions on trading mode changes, assets and networks."""

from importlib import import_module

from django.db import migrations

roles_for_notifications = import_module("incidents.migrations.0006_roles_for_notifications")


class Migration(migrations.Migration):
    dependencies = [("incidents", "0013_deposits_and_withdrawals")]

    operations = [migrations.RunPython(roles_for_notifications.forwards, migrations.RunPython.noop)]
