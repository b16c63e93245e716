"""A closed month's invoices and payment statements never change, held by the database as well as the services:
no invoice, statement or line is added to a closed month, a draft of a closed month is not issued, and no amount of
one changes (crediting, marking paid, approving and storing PDFs still can). Triggers, since a CHECK constraint
cannot look at another table; on PostgreSQL the lines' check runs once per statement (the month end writes
thousands of lines at once, with COPY), on SQLite once per row.

Finance may run the month end and close a month from the admin, and read the month-end runs' audit trail."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MESSAGE = "the month is closed: its invoices and payment statements cannot change"

POSTGRESQL = f"""
CREATE FUNCTION invoicing_month_is_closed(day date) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM invoicing_monthendrun WHERE period_start = day AND closed_at IS NOT NULL)
$$;

CREATE FUNCTION invoicing_refuse_document_change_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF invoicing_month_is_closed(NEW.period_start) THEN
            RAISE EXCEPTION '% %: %', TG_TABLE_NAME, NEW.period_start, '{MESSAGE}' USING ERRCODE = 'check_violation';
        END IF;
    ELSIF (OLD.status = 'draft' OR NEW.period_start IS DISTINCT FROM OLD.period_start
           OR to_jsonb(NEW) -> 'total' IS DISTINCT FROM to_jsonb(OLD) -> 'total'
           OR to_jsonb(NEW) -> 'net' IS DISTINCT FROM to_jsonb(OLD) -> 'net'
           OR to_jsonb(NEW) -> 'vat' IS DISTINCT FROM to_jsonb(OLD) -> 'vat')
          AND (invoicing_month_is_closed(OLD.period_start) OR invoicing_month_is_closed(NEW.period_start)) THEN
        RAISE EXCEPTION '% %: %', TG_TABLE_NAME, OLD.period_start, '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoicing_invoice_closed_month BEFORE INSERT OR UPDATE ON invoicing_invoice
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change_in_closed_month();
CREATE TRIGGER invoicing_paymentstatement_closed_month BEFORE INSERT OR UPDATE ON invoicing_paymentstatement
    FOR EACH ROW EXECUTE FUNCTION invoicing_refuse_document_change_in_closed_month();

CREATE FUNCTION invoicing_refuse_invoice_lines_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added JOIN invoicing_invoice document ON document.id = added.invoice_id
               WHERE invoicing_month_is_closed(document.period_start)) THEN
        RAISE EXCEPTION 'invoicing_invoiceline: %', '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER invoicing_invoiceline_closed_month AFTER INSERT ON invoicing_invoiceline
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION invoicing_refuse_invoice_lines_in_closed_month();

CREATE FUNCTION invoicing_refuse_statement_lines_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added JOIN invoicing_paymentstatement document ON document.id = added.statement_id
               WHERE invoicing_month_is_closed(document.period_start)) THEN
        RAISE EXCEPTION 'invoicing_statementline: %', '{MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER invoicing_statementline_closed_month AFTER INSERT ON invoicing_statementline
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION invoicing_refuse_statement_lines_in_closed_month();
"""

POSTGRESQL_REVERSE = """
DROP TRIGGER invoicing_statementline_closed_month ON invoicing_statementline;
DROP FUNCTION invoicing_refuse_statement_lines_in_closed_month();
DROP TRIGGER invoicing_invoiceline_closed_month ON invoicing_invoiceline;
DROP FUNCTION invoicing_refuse_invoice_lines_in_closed_month();
DROP TRIGGER invoicing_paymentstatement_closed_month ON invoicing_paymentstatement;
DROP TRIGGER invoicing_invoice_closed_month ON invoicing_invoice;
DROP FUNCTION invoicing_refuse_document_change_in_closed_month();
DROP FUNCTION invoicing_month_is_closed(date);
"""


def _closed(day: str) -> str:
    return f"EXISTS (SELECT 1 FROM invoicing_monthendrun WHERE period_start = {day} AND closed_at IS NOT NULL)"


def _sqlite() -> list[str]:
    statements = []
    for table, amounts in (("invoicing_invoice", ("net", "vat", "total")), ("invoicing_paymentstatement", ("total",))):
        changed = " OR ".join([f"NEW.{column} IS NOT OLD.{column}" for column in (*amounts, "period_start")])
        statements += [
            f"CREATE TRIGGER {table}_closed_month_insert BEFORE INSERT ON {table} "
            f"WHEN {_closed('NEW.period_start')} BEGIN SELECT RAISE(ABORT, '{table}: {MESSAGE}'); END",
            f"CREATE TRIGGER {table}_closed_month_update BEFORE UPDATE ON {table} "
            f"WHEN (OLD.status = 'draft' OR {changed}) "
            f"AND ({_closed('OLD.period_start')} OR {_closed('NEW.period_start')}) "
            f"BEGIN SELECT RAISE(ABORT, '{table}: {MESSAGE}'); END",
        ]
    for table, document, key in (("invoicing_invoiceline", "invoicing_invoice", "invoice_id"),
                                 ("invoicing_statementline", "invoicing_paymentstatement", "statement_id")):
        statements.append(
            f"CREATE TRIGGER {table}_closed_month BEFORE INSERT ON {table} "
            f"WHEN {_closed(f'(SELECT period_start FROM {document} WHERE id = NEW.{key})')} "
            f"BEGIN SELECT RAISE(ABORT, '{table}: {MESSAGE}'); END")
    return statements


SQLITE_TRIGGERS = ["invoicing_invoice_closed_month_insert", "invoicing_invoice_closed_month_update",
                   "invoicing_paymentstatement_closed_month_insert", "invoicing_paymentstatement_closed_month_update",
                   "invoicing_invoiceline_closed_month", "invoicing_statementline_closed_month"]


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL, params=None)  # its % are plpgsql's, not placeholders
    elif vendor == "sqlite":
        for statement in _sqlite():
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_REVERSE)
    elif vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER {name}")


FINANCE_PERMISSIONS = ["run_month_end", "close_month", "view_historicalmonthendrun"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="invoicing", codename__in=FINANCE_PERMISSIONS)
    missing = set(FINANCE_PERMISSIONS) - set(permissions.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"Permissions not found for Finance: {sorted(missing)}")
    Group.objects.get(name="Finance").permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("invoicing", "0012_month_end_state_and_close"),
    ]
    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
