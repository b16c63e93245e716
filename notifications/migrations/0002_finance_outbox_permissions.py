from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Group.objects.get(name="Finance").permissions.add(*Permission.objects.filter(
        content_type__app_label="notifications", codename__in=["view_outboxemail", "change_outboxemail"]))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial"), ("invoicing", "0002_finance_ticket_permissions")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
