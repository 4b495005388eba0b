"""The page's sequence row, and the two operator roles: responders post, viewers read."""

from django.db import migrations

from incidents.roles import grant_roles



def forwards(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally made after migrate; make them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None

    PageState = apps.get_model("incidents", "PageState")
    PageState.objects.get_or_create(pk=1)
    grant_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0002_maintenance_proxy"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
