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
    finance = Group.objects.get(name="Finance")
    finance.permissions.add(*Permission.objects.filter(
        content_type__app_label="invoicing", codename__in=["view_financeticket", "change_financeticket"]))
    finance.permissions.add(*Permission.objects.filter(
        content_type__app_label="sessions_app", codename__in=["view_wrapuprequest", "change_mentor"]))


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial"), ("sessions_app", "0003_wrap_up_requests")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
