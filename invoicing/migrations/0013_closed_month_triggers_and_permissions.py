"""A closed month's invoices and payment statements never change, held by the database as well as the services:
no invoice, statement or line is added to a closed month, a draft of a closed month is not issued, and no amount of
one changes (crediting, marking paid, approving and storing PDFs still can). Triggers, since a CHECK constraint
cannot look at another table. On PostgreSQL each check runs once per statement, on the rows it wrote (transition
tables: the month end writes thousands of documents and lines at once, with COPY); on SQLite once per row.

Finance may run the month end and close a month from the admin, and read the month-end runs' audit trail."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MESSAGE = "the month is closed: its invoices and payment statements cannot change"

def _postgresql() -> str:
    """Statement-level triggers (transition tables): one query per INSERT or UPDATE, however many rows it writes."""
    sql = ""
    for table, amounts in (("invoicing_invoice", ("net", "vat", "total")), ("invoicing_paymentstatement", ("total",))):
        changed = " OR ".join([f"was.{column} <> now.{column}" for column in ("period_start", *amounts)])
        sql += f"""
CREATE FUNCTION {table}_refuse_insert_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM added JOIN invoicing_monthendrun closed ON closed.period_start = added.period_start
               WHERE closed.closed_at IS NOT NULL) THEN
        RAISE EXCEPTION '{table}: {MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_closed_month_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_insert_in_closed_month();

CREATE FUNCTION {table}_refuse_update_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM was JOIN now ON now.id = was.id
               JOIN invoicing_monthendrun closed ON closed.period_start IN (was.period_start, now.period_start)
               WHERE closed.closed_at IS NOT NULL AND (was.status = 'draft' OR {changed})) THEN
        RAISE EXCEPTION '{table}: {MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_closed_month_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS was NEW TABLE AS now FOR EACH STATEMENT
    EXECUTE FUNCTION {table}_refuse_update_in_closed_month();
"""
    for table, document, key in (("invoicing_invoiceline", "invoicing_invoice", "invoice_id"),
                                 ("invoicing_statementline", "invoicing_paymentstatement", "statement_id")):
        sql += f"""
CREATE FUNCTION {table}_refuse_insert_in_closed_month() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM invoicing_monthendrun closed
               JOIN {document} document ON document.period_start = closed.period_start
               JOIN added ON added.{key} = document.id
               WHERE closed.closed_at IS NOT NULL) THEN
        RAISE EXCEPTION '{table}: {MESSAGE}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER {table}_closed_month AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION {table}_refuse_insert_in_closed_month();
"""
    return sql


POSTGRESQL_TRIGGERS = {
    "invoicing_invoice": ["invoicing_invoice_closed_month_insert", "invoicing_invoice_closed_month_update"],
    "invoicing_paymentstatement": ["invoicing_paymentstatement_closed_month_insert",
                                   "invoicing_paymentstatement_closed_month_update"],
    "invoicing_invoiceline": ["invoicing_invoiceline_closed_month"],
    "invoicing_statementline": ["invoicing_statementline_closed_month"],
}


def _postgresql_reverse() -> str:
    sql = ""
    for table, triggers in POSTGRESQL_TRIGGERS.items():
        for trigger in triggers:
            sql += f"DROP TRIGGER {trigger} ON {table};\n"
        sql += f"DROP FUNCTION {table}_refuse_insert_in_closed_month();\n"
        if table in ("invoicing_invoice", "invoicing_paymentstatement"):
            sql += f"DROP FUNCTION {table}_refuse_update_in_closed_month();\n"
    return sql


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
        schema_editor.execute(_postgresql(), params=None)  # its % are plpgsql's, not placeholders
    elif vendor == "sqlite":
        for statement in _sqlite():
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_postgresql_reverse(), params=None)
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
    # After every migration that alters these tables: SQLite rebuilds a table to add most columns, and the
    # rebuild drops the table's triggers.
    dependencies = [
        ("invoicing", "0012_month_end_state_and_close"),
        ("invoicing", "0012_missed_session_rules_terms_and_line_rule"),
        ("invoicing", "0012_document_pdf_removed_at"),
        ("invoicing", "0012_session_credit_notes_and_statement_adjustments"),
        ("invoicing", "0012_payment_runs_and_paying_account"),
    ]
    operations = [
        migrations.RunPython(create_triggers, drop_triggers),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
