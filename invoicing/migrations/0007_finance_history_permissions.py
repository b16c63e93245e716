"""Finance may read the audit trail (the "History" page in the admin) of Service Appointments, funding
arrangements, invoices, payment statements and credit notes. Nobody gets to change or revert it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

HISTORY_VIEWERS = {
    "sessions_app": ["view_historicalserviceappointment", "view_historicalfundingarrangement"],
    "invoicing": ["view_historicalinvoice", "view_historicalpaymentstatement", "view_historicalcreditnote"],
}


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
    for app_label, codenames in HISTORY_VIEWERS.items():
        permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found for Finance: {sorted(missing)}")
        finance.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0006_history"),
        ("sessions_app", "0005_history"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
