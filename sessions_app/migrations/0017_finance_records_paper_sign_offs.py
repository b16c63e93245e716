"""Finance records a mentee's sign-off received on paper (its own permission), and sees the sign-offs and their
history in the admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE = ["record_paper_sign_off", "view_sessionsignoff", "view_historicalsessionsignoff"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="sessions_app", codename__in=FINANCE)
    missing = set(FINANCE) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"Permissions not found for Finance: {sorted(missing)}")
    Group.objects.get(name="Finance").permissions.add(*permissions)


class Migration(migrations.Migration):

    dependencies = [
        ("sessions_app", "0016_mentee_sign_off"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
