from django.contrib.auth.management import create_permissions
from django.db import migrations

DEFAULTS = {
    "attended": (True, True),
    "late_cancellation": (True, True),
    "did_not_attend": (True, True),
    "cancelled": (False, False),
}
FINANCE_MODELS = {
    "outcomepolicy": ("view", "add", "change", "delete"),
    "mentorpayrate": ("view", "add", "change", "delete"),
    "organisationdetails": ("view", "change"),
    "invoice": ("view", "change"),
    "invoiceline": ("view",),
    "creditnote": ("view", "add"),
    "paymentstatement": ("view", "change"),
    "statementline": ("view",),
    "monthendrun": ("view",),
}


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    seed(apps)


def seed(apps):
    OutcomePolicy = apps.get_model("invoicing", "OutcomePolicy")
    for outcome, (billed, paid) in DEFAULTS.items():
        OutcomePolicy.objects.get_or_create(funder=None, outcome=outcome, defaults={"billed": billed, "paid": paid})
    apps.get_model("invoicing", "OrganisationDetails").objects.get_or_create(pk=1)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = [f"{action}_{model}" for model, actions in FINANCE_MODELS.items() for action in actions]
    Group.objects.get(name="Finance").permissions.add(
        *Permission.objects.filter(content_type__app_label="invoicing", codename__in=codenames)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0003_documents_and_policy"),
        ("notifications", "0002_finance_outbox_permissions"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
