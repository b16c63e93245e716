"""Finance keeps the funders' missed-session rules and the terms, and reads their audit trail."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = [
    f"{action}_{model}" for model in ("missedsessionrule", "term") for action in ("add", "change", "delete", "view")
] + ["view_historicalmissedsessionrule", "view_historicalterm"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="invoicing", codename__in=CODENAMES)
    missing = set(CODENAMES) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"Permissions not found for Finance: {sorted(missing)}")
    Group.objects.get(name="Finance").permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0012_missed_session_rules_terms_and_line_rule")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
