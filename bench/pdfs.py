"""Benchmark 2: PDFs.

1. A one-page invoice: the median time of the service a worker runs (`invoice_render_pdf`: HTML, PDF, stored,
   email queued) against WeasyPrint rendering the same invoice's self-contained HTML string bare, alternating.
2. A month of invoices: month end over 8 sessions per mentee, the invoices issued (which queues one render task
   each in Redis), then two Celery worker processes started and timed until every PDF is stored and every email
   with its PDF attached has been sent (to files).

    .venv/bin/python -m bench.pdfs [--invoices 5000] [--workers 2] [--repeats 30]

Needs PostgreSQL (BENCH_DATABASE_URL) and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/15, flushed).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

from bench.common import BENCH_DB, BENCH_REDIS, PROJECT, empty_bench_redis, median, percentile, production_env, setup_django, table



def one_page(repeats: int) -> dict:
    from django.db.models import Count
    from weasyprint import HTML

    from invoicing.models import Invoice
    from invoicing.services.pdf import invoice_html, invoice_render_pdf

    # A one-page invoice: a handful of sessions (a dozen runs onto a second page).
    invoice = (Invoice.objects.filter(status="issued").annotate(n=Count("lines")).filter(n__lte=5)
               .order_by("-n", "pk").first())
    html = invoice_html(invoice)
    ours, bare = [], []
    for _ in range(repeats):
        Invoice.objects.filter(pk=invoice.pk).update(pdf="")
        started = time.perf_counter()
        invoice_render_pdf(invoice_id=invoice.pk)
        ours.append(time.perf_counter() - started)
        started = time.perf_counter()
        pdf = HTML(string=html).write_pdf()
        bare.append(time.perf_counter() - started)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        info = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1)) if "Pages:" in info else "?"
    return {"lines": invoice.lines.count(), "pages": pages, "ours_ms": median(ours) * 1000,
            "ours_p95_ms": percentile(ours, 95) * 1000, "bare_ms": median(bare) * 1000,
            "bare_p95_ms": percentile(bare, 95) * 1000}


def seed_month(invoices: int) -> int:
    """Enough funded and self-funded mentees for about `invoices` invoices (seed_people bills a fifth of the
    funders monthly in one invoice), 8 sessions each in November 2026, and the month end run."""
    from django.db import connection

    from bench.common import reset_database
    from bench.seed import LONDON, seed_appointments, seed_people
    from invoicing.models import OrganisationDetails
    from invoicing.services import month_end_generate
    from sessions_app.models import Mentee

    reset_database()
    mentees = int((invoices - 30) / 0.82) + 60
    mentors, _, arrangements = seed_people(mentors=800, mentees=mentees, funders=150)
    # What issuing full VAT invoices needs: our VAT registration number, and the self-funded customers' addresses.
    OrganisationDetails.objects.update_or_create(pk=1, defaults={"vat_number": "GB 123 4567 89"})
    Mentee.objects.update(address="1 Road\nTown\nTN1 1AA")
    seed_appointments(count=8 * mentees, start=datetime(2026, 11, 1, tzinfo=LONDON), days=30, mentors=mentors,
                      arrangements=arrangements)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return month_end_generate(year=2026, month=11).invoices_created


def start_worker(number: int, folder: Path, mail: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": BENCH_DB, "REDIS_URL": BENCH_REDIS,
           **production_env(EMAIL_FILE_PATH=str(mail), MEDIA_ROOT=str(folder / "media"), LOG_LEVEL="WARNING")}
    log = (folder / f"worker-{number}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "mentoring", "worker", "--pool=solo", "-l", "warning",
         "-n", f"bench{number}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)


def month(invoices: int, workers: int) -> dict:
    from django.conf import settings

    from invoicing.models import Invoice, PaymentStatement
    from invoicing.services import invoices_issue, statements_issue
    from mentoring.celery import app
    from notifications.models import OutboxEmail

    made = seed_month(invoices)
    folder = Path(tempfile.mkdtemp(prefix="mentoring-bench-pdfs-"))
    settings.MEDIA_ROOT = str(folder / "media")
    empty_bench_redis()
    app.conf.broker_url, app.conf.task_always_eager = BENCH_REDIS, False
    ids = list(Invoice.objects.order_by("pk").values_list("pk", flat=True)[:invoices])
    statement_ids = list(PaymentStatement.objects.values_list("pk", flat=True))
    started = time.perf_counter()
    invoices_issue(invoice_ids=ids, acting_user=None, today=date(2026, 11, 30))
    statements_issue(statement_ids=statement_ids, acting_user=None, today=date(2026, 11, 30))
    queued = time.perf_counter() - started
    emails = len(ids) + len(statement_ids)

    processes = [start_worker(n + 1, folder, folder / "mail") for n in range(workers)]
    started = time.perf_counter()
    rendered_at = None
    try:
        while True:
            missing = (Invoice.objects.filter(pk__in=ids, pdf="").count()
                       + PaymentStatement.objects.filter(pk__in=statement_ids, pdf="").count())
            if not missing and rendered_at is None:
                rendered_at = time.perf_counter() - started
            sent = OutboxEmail.objects.filter(sent_at__isnull=False).count()
            if rendered_at is not None and sent >= emails:
                break
            if any(process.poll() is not None for process in processes):
                raise RuntimeError(f"a worker stopped; see {folder}")
            time.sleep(2)
        all_sent = time.perf_counter() - started
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=60)
    files = sum(1 for _ in (folder / "media").rglob("*.pdf"))
    result = {"invoices made": made, "invoices": len(ids), "statements": len(statement_ids), "pdf files": files,
              "issue + queue s": queued, "all PDFs s": rendered_at, "all emails sent s": all_sent,
              "emails": OutboxEmail.objects.filter(sent_at__isnull=False).count()}
    shutil.rmtree(folder, ignore_errors=True)
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    setup_django()
    results = month(args.invoices, args.workers)
    from django.conf import settings

    from mentoring.celery import app

    app.conf.task_always_eager = True
    with tempfile.TemporaryDirectory(prefix="mentoring-bench-pdf-") as media:
        settings.MEDIA_ROOT = media
        single = one_page(args.repeats)
    print(table([[single["lines"], single["pages"], f"{single['ours_ms']:.0f}", f"{single['ours_p95_ms']:.0f}",
                  f"{single['bare_ms']:.0f}", f"{single['bare_p95_ms']:.0f}",
                  f"{single['ours_ms'] / single['bare_ms']:.2f}"]],
                ["invoice lines", "pages", "ours median ms", "ours p95 ms", "bare median ms", "bare p95 ms",
                 "ours / bare"]))
    print(table([[results["invoices"], results["statements"], args.workers, f"{results['all PDFs s']:.0f}",
                  f"{(results['invoices'] + results['statements']) / results['all PDFs s']:.1f}",
                  f"{results['all emails sent s']:.0f}", results["pdf files"], results["emails"],
                  f"{results['issue + queue s']:.1f}"]],
                ["invoices", "statements", "workers", "all PDFs stored (s)", "PDFs/s", "all emails sent (s)",
                 "PDF files", "emails sent", "issue + queue (s)"]))
    print("budget: one-page invoice at most 1.2x the bare WeasyPrint render")


if __name__ == "__main__":
    main()
