"""The month-end job's lines written by PostgreSQL itself (INSERT ... SELECT), for large months.

Same rules as the Python path in month_end.py (which SQLite uses): tests/invoicing/test_month_end_paths.py runs
both on PostgreSQL on the same random sessions and compares what they write.
Python decides only per invoice and per statement; the database computes and writes every line.
"""

from django.db import connection
from django.utils import timezone

from invoicing.bulk import insert_rows_returning_ids
from invoicing.models import Invoice, PaymentStatement
from invoicing.policy import vat_on
from sessions_app.models import Funder, ServiceAppointment

from .funder_rules import late_notice_hours

from .month_end import INVOICE_FIELDS, STATEMENT_FIELDS, fill_bill_to, new_invoice, record_history

# The session's day where the organisation is (settings.TIME_ZONE), as timezone.localdate gives it in month_end.py.
LOCAL_DATE = "(a.starts_at AT TIME ZONE %(zone)s)::date"
# The booked time's whole minutes, as ServiceAppointment.booked_minutes counts them (::int alone would round 45.5 up).
MINUTES = "COALESCE(a.actual_minutes, FLOOR(EXTRACT(EPOCH FROM a.ends_at - a.starts_at) / 60)::int)"
# The funder's own rule for the outcome, else the default rule, else neither billed nor paid.
POLICY_JOINS = """
LEFT JOIN invoicing_outcomepolicy pf ON pf.funder_id = fa.funder_id AND pf.outcome = a.outcome
LEFT JOIN invoicing_outcomepolicy pd ON pd.funder_id IS NULL AND pd.outcome = a.outcome"""

MISSED = "('late_cancellation', 'did_not_attend')"
# A late-notice cancellation recorded with at least the funder's notice period is a cancellation in advance
# (funder_rules.in_advance); `{a}` is the session's alias.
IN_ADVANCE = ("({a}.outcome = 'late_cancellation' AND {a}.notice_hours IS NOT NULL "
              "AND {a}.notice_hours >= COALESCE(r.notice_hours, %(late_notice)s))")
# A limited funder's missed session's number among the arrangement's billed missed sessions, in the order they took
# place, within its term (a per-term limit; none for a day in no term) or the whole arrangement (funder_rules.py).
NUMBER = f"""CASE WHEN r.missed_limit IS NOT NULL AND a.outcome IN {MISSED}
                  AND (r.limit_per = 'arrangement' OR t.id IS NOT NULL) THEN (
    SELECT COUNT(*) FROM sessions_app_serviceappointment b
    LEFT JOIN invoicing_outcomepolicy bf ON bf.funder_id = fa.funder_id AND bf.outcome = b.outcome
    LEFT JOIN invoicing_outcomepolicy bd ON bd.funder_id IS NULL AND bd.outcome = b.outcome
    WHERE b.funding_arrangement_id = a.funding_arrangement_id AND b.status = 'completed'
      AND b.outcome IN {MISSED} AND b.starts_at < %(cutoff)s AND (b.starts_at, b.id) <= (a.starts_at, a.id)
      AND COALESCE(bf.billed, bd.billed, false) AND NOT {IN_ADVANCE.format(a="b")}
      AND (r.limit_per = 'arrangement'
           OR (b.starts_at AT TIME ZONE %(zone)s)::date BETWEEN t.starts_on AND t.ends_on)) END"""
# The line's rule, as funder_rules.rule_text writes it.
RULE_TEXT = """CASE WHEN NOT missed THEN outcome_label
     ELSE outcome_label
          || COALESCE(', ' || number || ' of ' || missed_limit || ' billed '
                      || CASE WHEN limit_per = 'term' THEN 'in ' || term_name ELSE 'under this arrangement' END, '')
          || CASE WHEN charge = 'first_hour' THEN ', first hour charged' ELSE ', full booked time charged' END END"""
OUTCOME_LABEL = "CASE a.outcome {} ELSE a.outcome END".format(
    " ".join(f"WHEN '{value}' THEN %(label_{value})s" for value in ServiceAppointment.Outcome.values))

# A funder billed for confirmed sessions only is billed for a session once its mentee confirmed it, before the cutoff
# (month_end.confirmed_by).
CONFIRMED_ONLY = """(f.bill_only_confirmed IS NOT TRUE OR EXISTS (
    SELECT 1 FROM sessions_app_sessionsignoff so
    WHERE so.appointment_id = a.id AND so.state = 'confirmed' AND so.answered_at < %(cutoff)s))"""

BILLING = f"""
CREATE TEMP TABLE month_end_billing ON COMMIT DROP AS
SELECT id, reference, outcome, mentee_id, mentee_name, arrangement_id, funder_id, hourly_rate, session_date,
       CASE WHEN missed AND charge = 'first_hour' THEN LEAST(minutes, 60) ELSE minutes END AS minutes,
       ROW_NUMBER() OVER (ORDER BY starts_at, id) AS position, group_key, {RULE_TEXT} AS charge_rule
FROM (
SELECT a.id, a.reference, a.outcome, a.mentee_id, me.full_name AS mentee_name, a.starts_at,
       fa.id AS arrangement_id, fa.funder_id, fa.hourly_rate, {LOCAL_DATE} AS session_date, {MINUTES} AS minutes,
       CASE WHEN fa.kind = 'self_funded' THEN 'mentee:' || a.mentee_id
            WHEN f.single_monthly_invoice THEN 'funder:' || f.id
            ELSE 'arrangement:' || fa.id END AS group_key,
       a.outcome IN {MISSED} AS missed, {OUTCOME_LABEL} AS outcome_label, COALESCE(r.charge, 'full') AS charge,
       r.missed_limit, r.limit_per, t.name AS term_name, {NUMBER} AS number
FROM sessions_app_serviceappointment a
JOIN sessions_app_fundingarrangement fa ON fa.id = a.funding_arrangement_id
LEFT JOIN sessions_app_funder f ON f.id = fa.funder_id
LEFT JOIN invoicing_missedsessionrule r ON r.funder_id = fa.funder_id
LEFT JOIN invoicing_term t ON {LOCAL_DATE} BETWEEN t.starts_on AND t.ends_on
JOIN sessions_app_mentee me ON me.id = a.mentee_id{POLICY_JOINS}
WHERE a.status = 'completed' AND a.starts_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM invoicing_invoiceline l WHERE l.appointment_id = a.id AND NOT l.released)
  AND COALESCE(pf.billed, pd.billed, false)
  AND NOT {IN_ADVANCE.format(a="a")}
  AND {CONFIRMED_ONLY}
) billable
WHERE number IS NULL OR number <= missed_limit
"""

PAYING = f"""
CREATE TEMP TABLE month_end_paying ON COMMIT DROP AS
SELECT a.id, a.reference, a.outcome, a.mentor_id, me.full_name AS mentee_name, {LOCAL_DATE} AS session_date,
       {MINUTES} AS minutes, ROW_NUMBER() OVER (ORDER BY a.starts_at, a.id) AS position,
       COALESCE((SELECT r.hourly_rate FROM invoicing_mentorpayrate r
                 WHERE r.mentor_id = a.mentor_id AND r.valid_from <= {LOCAL_DATE}
                 ORDER BY r.valid_from DESC LIMIT 1), mt.hourly_pay_rate) AS rate,
       COALESCE(u.full_name, '') AS wrapped_up_by_name,
       (a.wrapped_up_by_id IS NOT NULL AND a.wrapped_up_by_id <> mt.user_id) AS on_behalf
FROM sessions_app_serviceappointment a
JOIN sessions_app_mentor mt ON mt.id = a.mentor_id
JOIN sessions_app_mentee me ON me.id = a.mentee_id
LEFT JOIN sessions_app_fundingarrangement fa ON fa.id = a.funding_arrangement_id
LEFT JOIN sessions_app_user u ON u.id = a.wrapped_up_by_id{POLICY_JOINS}
WHERE a.status = 'completed' AND a.starts_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM invoicing_statementline s WHERE s.appointment_id = a.id)
  AND COALESCE(pf.paid, pd.paid, false)
"""


def _targets(cursor, table: str, pairs: list[tuple]) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {table}")
    cursor.execute(f"CREATE TEMP TABLE {table} (key text PRIMARY KEY, document_id bigint) ON COMMIT DROP")
    with cursor.cursor.copy(f"COPY {table} (key, document_id) FROM STDIN") as copy:
        for pair in pairs:
            copy.write_row(pair)


def bill_in_database(cutoff, vat_rate, period_start, period_end, summary, progress):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS month_end_billing")  # left by an earlier run in the same transaction
        cursor.execute(BILLING, {
            "cutoff": cutoff, "zone": timezone.get_current_timezone_name(), "late_notice": late_notice_hours(),
            **{f"label_{value}": label for value, label in ServiceAppointment.Outcome.choices},
        })
        # As in month_end.py, a new invoice takes its arrangement from its first session (a self-funded mentee's
        # invoice can hold sessions under two arrangements), and the invoices are made in the order of their first
        # sessions (so those issued together to one funder are numbered in that order).
        cursor.execute(
            """SELECT group_key, (ARRAY_AGG(arrangement_id ORDER BY position))[1], MIN(funder_id), MIN(mentee_id),
                      COUNT(*), SUM(ROUND(minutes * hourly_rate / 60, 2)), COUNT(*) FILTER (WHERE session_date < %s)
               FROM month_end_billing GROUP BY group_key ORDER BY MIN(position)""",
            [period_start],
        )
        groups = cursor.fetchall()
        if not groups:
            return
        existing = {
            invoice.group_key: invoice
            for invoice in Invoice.objects.filter(period_start=period_start, group_key__in=[g[0] for g in groups])
            .exclude(status=Invoice.Status.CREDITED)
        }
        funders = {f.pk: f for f in Funder.objects.all()}
        new, extended, targets = [], [], []
        for key, arrangement_id, funder_id, mentee_id, count, net, late in groups:
            invoice = existing.get(key)
            if invoice is None:
                invoice = new_invoice(key, arrangement_id=arrangement_id, funder_id=funder_id, mentee_id=mentee_id,
                                       funders=funders, vat_rate=vat_rate, period_start=period_start,
                                       period_end=period_end)
                new.append(invoice)
            elif invoice.status != Invoice.Status.DRAFT:
                summary.waiting_for_issued += count
                continue
            else:
                extended.append(invoice)
            invoice.net += net
            invoice.vat = vat_on(invoice.net, invoice.vat_rate)
            invoice.total = invoice.net + invoice.vat
            targets.append((key, invoice))
            summary.late_lines += late
        fill_bill_to(new)
        ids = insert_rows_returning_ids(Invoice, INVOICE_FIELDS, [
            tuple(getattr(invoice, name) for name in INVOICE_FIELDS) for invoice in new])
        for invoice, pk in zip(new, ids):
            invoice.pk = pk
        if extended:
            Invoice.objects.bulk_update(extended, ["net", "vat", "total"])
        record_history(Invoice, new, extended)
        _targets(cursor, "month_end_invoice_targets", [(key, invoice.pk) for key, invoice in targets])
        cursor.execute(
            """INSERT INTO invoicing_invoiceline (invoice_id, appointment_id, session_date, reference, mentee_name,
                   outcome, minutes, hourly_rate, net, is_late, released, charge_rule)
               SELECT t.document_id, b.id, b.session_date, b.reference, b.mentee_name, b.outcome, b.minutes,
                      b.hourly_rate, ROUND(b.minutes * b.hourly_rate / 60, 2), b.session_date < %s, false,
                      b.charge_rule
               FROM month_end_billing b JOIN month_end_invoice_targets t ON t.key = b.group_key""",
            [period_start],
        )
        summary.invoice_lines = cursor.rowcount
        summary.invoices_created, summary.invoices_extended = len(new), len(extended)
        progress(summary.invoice_lines, summary.invoice_lines, "invoice lines")


def pay_in_database(cutoff, period_start, period_end, summary, progress):
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS month_end_paying")
        cursor.execute(PAYING, {"cutoff": cutoff, "zone": timezone.get_current_timezone_name()})
        # Statements are made in the order of their first sessions, as in month_end.py (mentors can share a name).
        cursor.execute(
            """SELECT mentor_id, COUNT(*), SUM(ROUND(minutes * rate / 60, 2)),
                      COUNT(*) FILTER (WHERE session_date < %s)
               FROM month_end_paying GROUP BY mentor_id ORDER BY MIN(position)""",
            [period_start],
        )
        groups = cursor.fetchall()
        if not groups:
            return
        existing = {s.mentor_id: s for s in PaymentStatement.objects.filter(
            period_start=period_start, mentor_id__in=[g[0] for g in groups])}
        new, extended, targets = [], [], []
        for mentor_id, count, total, late in groups:
            statement = existing.get(mentor_id)
            if statement is None:
                statement = PaymentStatement(mentor_id=mentor_id, period_start=period_start, period_end=period_end)
                new.append(statement)
            elif statement.status != PaymentStatement.Status.DRAFT:
                summary.waiting_for_issued += count
                continue
            else:
                extended.append(statement)
            statement.total += total
            targets.append((str(mentor_id), statement))
            summary.late_lines += late
        ids = insert_rows_returning_ids(PaymentStatement, STATEMENT_FIELDS, [
            tuple(getattr(statement, name) for name in STATEMENT_FIELDS) for statement in new])
        for statement, pk in zip(new, ids):
            statement.pk = pk
        if extended:
            PaymentStatement.objects.bulk_update(extended, ["total"])
        record_history(PaymentStatement, new, extended)
        _targets(cursor, "month_end_statement_targets", [(key, statement.pk) for key, statement in targets])
        cursor.execute(
            """INSERT INTO invoicing_statementline (statement_id, appointment_id, session_date, reference, mentee_name,
                   outcome, minutes, hourly_rate, amount, wrapped_up_by_name, on_behalf, is_late)
               SELECT t.document_id, p.id, p.session_date, p.reference, p.mentee_name, p.outcome, p.minutes, p.rate,
                      ROUND(p.minutes * p.rate / 60, 2), p.wrapped_up_by_name, p.on_behalf, p.session_date < %s
               FROM month_end_paying p JOIN month_end_statement_targets t ON t.key = p.mentor_id::text""",
            [period_start],
        )
        summary.statement_lines = cursor.rowcount
        summary.statements_created, summary.statements_extended = len(new), len(extended)
        progress(summary.statement_lines, summary.statement_lines, "statement lines")
