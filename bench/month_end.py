"""Benchmark 1: the month-end job (no PDFs) against a plain-SQL floor producing the same lines.

    .venv/bin/python -m bench.month_end [--sizes 10000 100000] [--history 1000000]
    .venv/bin/python -m bench.month_end --sizes 100000 --paths 3   # the Python path against the SQL path

With --paths N, each size's month is also written N times by each of the job's two paths on PostgreSQL (Python:
month_end.py, lines computed in Python and written by COPY; SQL: month_end_sql.py, INSERT ... SELECT; and the SQL
path with its invoices and statements written by bulk_create instead of COPY, as bulk.py does on SQLite), and by
the floor, taken in turn, each rolled back: the medians, each against the floor's.

With --history, also a month's run on top of years of invoiced sessions: the history seeded and invoiced in one
run, then a run with nothing new, then a new month of 16,000 sessions.
"""

import argparse
import time

from bench.common import setup_django, table

FLOOR_SQL = """
CREATE TEMP TABLE floor_billing ON COMMIT DROP AS
SELECT a.id, a.reference, a.outcome, a.mentee_id, me.full_name AS mentee_name, fa.id AS arrangement_id,
       fa.funder_id, fa.hourly_rate,
       (a.starts_at AT TIME ZONE 'Europe/London')::date AS session_date,
       COALESCE(a.actual_minutes, (EXTRACT(EPOCH FROM a.ends_at - a.starts_at) / 60)::int) AS minutes,
       CASE WHEN fa.kind = 'self_funded' THEN 'mentee:' || a.mentee_id
            WHEN f.single_monthly_invoice THEN 'funder:' || f.id
            ELSE 'arrangement:' || fa.id END AS group_key
FROM sessions_app_serviceappointment a
JOIN sessions_app_fundingarrangement fa ON fa.id = a.funding_arrangement_id
LEFT JOIN sessions_app_funder f ON f.id = fa.funder_id
JOIN sessions_app_mentee me ON me.id = a.mentee_id
JOIN invoicing_outcomepolicy p ON p.funder_id IS NULL AND p.outcome = a.outcome AND p.billed
WHERE a.status = 'completed' AND a.starts_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM invoicing_invoiceline l WHERE l.appointment_id = a.id AND NOT l.released);

INSERT INTO invoicing_invoice (status, period_start, period_end, group_key, funder_id, funding_arrangement_id,
    mentee_id, bill_to_name, bill_to_email, bill_to_address, customer_reference, vat_rate, net, vat, total,
    created_at, pdf, kind, tax_point_rule)
SELECT 'draft', %(start)s, %(end)s, group_key, MIN(funder_id), MIN(arrangement_id),
       CASE WHEN group_key LIKE 'mentee:%%' THEN MIN(mentee_id) END, '', '', '', '', 20,
       SUM(ROUND(minutes * hourly_rate / 60, 2)), ROUND(SUM(ROUND(minutes * hourly_rate / 60, 2)) * 0.2, 2),
       SUM(ROUND(minutes * hourly_rate / 60, 2)) + ROUND(SUM(ROUND(minutes * hourly_rate / 60, 2)) * 0.2, 2),
       now(), '', '', ''
FROM floor_billing GROUP BY group_key;

INSERT INTO invoicing_invoiceline (invoice_id, appointment_id, session_date, reference, mentee_name, outcome,
    minutes, hourly_rate, net, is_late, released, charge_rule)
SELECT i.id, b.id, b.session_date, b.reference, b.mentee_name, b.outcome, b.minutes, b.hourly_rate,
       ROUND(b.minutes * b.hourly_rate / 60, 2), b.session_date < %(start)s, false, b.outcome
FROM floor_billing b JOIN invoicing_invoice i ON i.group_key = b.group_key AND i.period_start = %(start)s;

CREATE TEMP TABLE floor_paying ON COMMIT DROP AS
SELECT a.id, a.reference, a.outcome, a.mentor_id, me.full_name AS mentee_name,
       (a.starts_at AT TIME ZONE 'Europe/London')::date AS session_date,
       COALESCE(a.actual_minutes, (EXTRACT(EPOCH FROM a.ends_at - a.starts_at) / 60)::int) AS minutes,
       mt.hourly_pay_rate AS rate, COALESCE(u.full_name, '') AS by_name,
       (a.wrapped_up_by_id IS NOT NULL AND a.wrapped_up_by_id <> mt.user_id) AS on_behalf
FROM sessions_app_serviceappointment a
JOIN sessions_app_mentor mt ON mt.id = a.mentor_id
JOIN sessions_app_mentee me ON me.id = a.mentee_id
LEFT JOIN sessions_app_user u ON u.id = a.wrapped_up_by_id
JOIN invoicing_outcomepolicy p ON p.funder_id IS NULL AND p.outcome = a.outcome AND p.paid
WHERE a.status = 'completed' AND a.starts_at < %(cutoff)s
  AND NOT EXISTS (SELECT 1 FROM invoicing_statementline s WHERE s.appointment_id = a.id);

INSERT INTO invoicing_paymentstatement (status, mentor_id, period_start, period_end, total, created_at, pdf,
    supplier_address)
SELECT 'draft', mentor_id, %(start)s, %(end)s, SUM(ROUND(minutes * rate / 60, 2)), now(), '', ''
FROM floor_paying GROUP BY mentor_id;

INSERT INTO invoicing_statementline (statement_id, appointment_id, session_date, reference, mentee_name, outcome,
    minutes, hourly_rate, amount, wrapped_up_by_name, on_behalf, is_late)
SELECT s.id, p.id, p.session_date, p.reference, p.mentee_name, p.outcome, p.minutes, p.rate,
       ROUND(p.minutes * p.rate / 60, 2), p.by_name, p.on_behalf, p.session_date < %(start)s
FROM floor_paying p JOIN invoicing_paymentstatement s ON s.mentor_id = p.mentor_id AND s.period_start = %(start)s;

SET CONSTRAINTS ALL IMMEDIATE
"""


def floor(cutoff, start, end) -> tuple[float, dict]:
    """The same lines in the same tables by plain SQL, constraints checked as at commit; then rolled back."""
    from django.db import connection, transaction

    from invoicing.models import Invoice, InvoiceLine, PaymentStatement, StatementLine

    started = time.perf_counter()
    with transaction.atomic():
        with connection.cursor() as cursor:
            for statement in filter(str.strip, FLOOR_SQL.split(";")):
                cursor.execute(statement, {"cutoff": cutoff, "start": start, "end": end})
        elapsed = time.perf_counter() - started
        counts = {"floor_invoice": Invoice.objects.count(), "floor_invoice_line": InvoiceLine.objects.count(),
                  "floor_statement": PaymentStatement.objects.count(),
                  "floor_statement_line": StatementLine.objects.count()}
        transaction.set_rollback(True)
    return elapsed, counts


def compare_paths(size: int, repeats: int, cutoff, start, end) -> list:
    """The floor and the job's two paths, in turn, `repeats` times each on the same sessions, rolled back."""
    from statistics import median

    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from invoicing.services import month_end_generate

    from invoicing import bulk

    on_postgresql = bulk._on_postgresql
    variants = (("Python path", False, True), ("SQL path", True, True),
                ("SQL path, documents by bulk_create (no COPY)", True, False))
    times = {"SQL floor": [], **{label: [] for label, _, _ in variants}}
    queries = {}
    for _ in range(repeats):
        times["SQL floor"].append(floor(cutoff, start, end)[0])
        for label, in_database, copy in variants:
            # bulk.py's own path choice: COPY on PostgreSQL, or the ORM's bulk_create as on SQLite
            bulk._on_postgresql = on_postgresql if copy else (lambda choice: bool(choice))
            try:
                with transaction.atomic(), CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    month_end_generate(year=start.year, month=start.month, in_database=in_database)
                    times[label].append(time.perf_counter() - started)
                    queries[label] = len(captured)
                    transaction.set_rollback(True)
            finally:
                bulk._on_postgresql = on_postgresql
    floor_median = median(times["SQL floor"])
    return [[f"{size:,}", label, f"{median(values):.2f}", f"{min(values):.2f}-{max(values):.2f}",
             f"{median(values) / floor_median:.2f}x", queries.get(label, "")] for label, values in times.items()]


def run(size: int, paths: int = 0) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.common import reset_database
    from bench.seed import LONDON, seed_appointments, seed_people
    from datetime import datetime
    from invoicing.models import Invoice, InvoiceLine, PaymentStatement, StatementLine
    from invoicing.services import month_end_generate
    from sessions_app.selectors import local_midnight
    from datetime import date

    reset_database()
    t0 = time.perf_counter()
    mentors, _, arrangements = seed_people(mentors=800, mentees=5000, funders=150)
    seed_appointments(count=size, start=datetime(2026, 11, 1, tzinfo=LONDON), days=30, mentors=mentors,
                      arrangements=arrangements)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    seeded = time.perf_counter() - t0

    floor_seconds, floor_counts = floor(local_midnight(date(2026, 12, 1)), date(2026, 11, 1), date(2026, 11, 30))
    compared = compare_paths(size, paths, local_midnight(date(2026, 12, 1)), date(2026, 11, 1),
                             date(2026, 11, 30)) if paths else []
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        summary = month_end_generate(year=2026, month=11)
        ours = time.perf_counter() - started
    counts = {"floor_invoice": Invoice.objects.count(), "floor_invoice_line": InvoiceLine.objects.count(),
              "floor_statement": PaymentStatement.objects.count(), "floor_statement_line": StatementLine.objects.count()}
    assert counts == floor_counts, (counts, floor_counts)
    started = time.perf_counter()
    again = month_end_generate(year=2026, month=11)
    second = time.perf_counter() - started
    assert again.invoice_lines == 0 and again.statement_lines == 0
    return {"size": size, "seed_s": seeded, "ours_s": ours, "floor_s": floor_seconds, "ratio": ours / floor_seconds,
            "queries": len(queries), "rerun_s": second, "invoices": counts["floor_invoice"],
            "invoice_lines": counts["floor_invoice_line"], "statement_lines": counts["floor_statement_line"],
            "compared": compared}


def history(total: int) -> list:
    from datetime import datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bench.common import reset_database
    from bench.pages import seed_history
    from bench.seed import LONDON, seed_appointments, seed_people
    from invoicing.services import month_end_generate
    from sessions_app.selectors import month_bounds

    reset_database()
    mentors, _, arrangements = seed_people(mentors=800, mentees=5000, funders=150)
    seed_history(total, mentors, arrangements)  # five years back from now, and four months ahead
    today = datetime.now(LONDON)
    rows = []

    def timed_run(label, year, month):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            summary = month_end_generate(year=year, month=month)
            rows.append([label, f"{time.perf_counter() - started:.2f}", len(queries), summary.invoice_lines])

    timed_run(f"{total:,} appointments' history, invoiced at once", today.year, today.month)
    timed_run("again, nothing new", today.year, today.month)
    following = month_bounds(today.year, today.month)[1]
    seed_appointments(count=16_000, start=following, days=28, mentors=mentors, arrangements=arrangements, seed=99)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timed_run("the next month: 16,000 sessions on top of that history", following.year, following.month)
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--history", type=int, default=0, help="also a month on top of this many appointments")
    parser.add_argument("--paths", type=int, default=0, help="also time the Python and SQL paths this many times")
    args = parser.parse_args()
    setup_django()
    if args.history:
        print(table(history(args.history), ["run", "seconds", "queries", "invoice lines"]))
    results = [run(size, args.paths) for size in args.sizes]
    if args.paths:
        print(table([row for r in results for row in r["compared"]],
                    ["sessions", "path", "median (s)", "range (s)", "of the floor", "queries"]))
    print(table(
        [[r["size"], f"{r['ours_s']:.2f}", f"{r['floor_s']:.2f}", f"{r['ratio']:.1f}x", r["queries"],
          f"{r['rerun_s']:.2f}", r["invoices"], r["invoice_lines"], r["statement_lines"]] for r in results],
        ["sessions", "month end (s)", "SQL floor (s)", "ours / floor", "queries", "re-run (s)", "invoices",
         "invoice lines", "statement lines"],
    ))
    print("budgets: under 30 s at 100,000; at most 5x the floor; queries the same at every size")


if __name__ == "__main__":
    main()
