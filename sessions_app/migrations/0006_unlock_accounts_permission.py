"""Senior Leadership and Finance may unlock an account that django-axes locked out after failed log-ins (the
"Locked-out accounts" page), which was for superusers only."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

UNLOCKERS = ["Senior Leadership", "Finance"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="sessions_app", codename="unlock_accounts")
    for role in UNLOCKERS:
        Group.objects.get(name=role).permissions.add(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0005_history'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='user',
            options={'ordering': ['full_name'], 'permissions': [('use_admin', 'Can use the Finance admin'), ('unlock_accounts', 'Can unlock an account locked out after failed log-ins')]},
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
