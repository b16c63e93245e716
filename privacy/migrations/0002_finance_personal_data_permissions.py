"""Finance answers subject access and erasure requests: they may export a person's data, erase it, withhold an
internal cancellation note from an export (with a reason), and read the record of exports and erasures. To keep
erasure to named people, take `erase_personal_data` away from the group and give it to them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE = [
    "export_personal_data", "erase_personal_data",
    "view_personaldataexport", "view_erasure",
    "view_withheldnote", "add_withheldnote", "change_withheldnote", "delete_withheldnote",
]


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
    permissions = Permission.objects.filter(content_type__app_label="privacy", codename__in=FINANCE)
    missing = set(FINANCE) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"Permissions not found for Finance: {sorted(missing)}")
    finance.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_personal_data_exports_erasures_and_withheld_notes"),
        ("sessions_app", "0002_roles_and_reasons"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
