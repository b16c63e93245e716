"""Finance sees (never changes) the credit notes for one session and the statement adjustments that corrected
wrap-ups make, and their audit trail."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_sessioncreditnote", "view_statementadjustment", "view_historicalsessioncreditnote",
             "view_historicalstatementadjustment"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    finance = Group.objects.filter(name="Finance").first()
    if finance is None:
        return
    finance.permissions.add(*Permission.objects.filter(content_type__app_label="invoicing", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0012_session_credit_notes_and_statement_adjustments")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
