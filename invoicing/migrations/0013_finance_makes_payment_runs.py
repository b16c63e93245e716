"""Finance creates payment runs, downloads their files, marks them paid or cancels them, and reads their history."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE = ["view_paymentrun", "add_paymentrun", "change_paymentrun", "view_historicalpaymentrun"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="invoicing", codename__in=FINANCE)
    missing = set(FINANCE) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"Permissions not found for Finance: {sorted(missing)}")
    Group.objects.get(name="Finance").permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0012_payment_runs_and_paying_account"),
        ("sessions_app", "0012_finance_sees_bank_details"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
