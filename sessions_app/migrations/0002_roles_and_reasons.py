from django.contrib.auth.management import create_permissions
from django.db import migrations

MENTOR, SENIOR_LEADERSHIP, FINANCE = "Mentor", "Senior Leadership", "Finance"

ROLE_PERMISSIONS = {
    MENTOR: ["view_serviceappointment"],
    SENIOR_LEADERSHIP: ["view_serviceappointment", "view_all_appointments", "act_for_mentors"],
    FINANCE: [
        "use_admin",
        "view_all_appointments",
        "act_for_mentors",
        "view_serviceappointment",
        "add_serviceappointment",
        "change_serviceappointment",
        "view_appointmentevent",
        "view_mentor",
        "view_user",
        *[f"{action}_{model}" for model in ("mentee", "funder", "fundingarrangement", "cancellationreason")
          for action in ("view", "add", "change", "delete")],
    ],
}

CANCELLATION_REASONS = [
    ("Mentee unwell", "mentee"),
    ("Mentee unavailable", "mentee"),
    ("Rescheduled at mentee's request", "mentee"),
    ("Mentee no longer needs support", "mentee"),
    ("Mentor unavailable", "mentor"),
    ("Mentor unwell", "mentor"),
    ("Organisation closure", "organisation"),
    ("Other", "organisation"),
]


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(content_type__app_label="sessions_app", codename__in=codenames)
        found = set(permissions.values_list("codename", flat=True))
        missing = set(codenames) - found
        if missing:
            raise RuntimeError(f"Permissions not found for {role}: {sorted(missing)}")
        group.permissions.add(*permissions)


def seed_cancellation_reasons(apps, schema_editor):
    CancellationReason = apps.get_model("sessions_app", "CancellationReason")
    for order, (label, initiated_by) in enumerate(CANCELLATION_REASONS, start=1):
        CancellationReason.objects.get_or_create(label=label, defaults={"initiated_by": initiated_by, "order": order})


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
        migrations.RunPython(seed_cancellation_reasons, migrations.RunPython.noop),
    ]
