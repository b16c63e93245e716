"""Run the month-end job by hand for any month: `manage.py generate_month_end --month 2026-11 [--issue]`.

The same service as Celery beat's month-end task. Running it again changes nothing: the summary says so.
"""

import re
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from invoicing.models import Invoice, PaymentStatement
from invoicing.services import invoices_issue_all_possible, issued_as, month_end_generate, statements_issue
from invoicing.services.month_close import MonthClosed

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: str, *, today: date) -> date:
    """The first day of the month written YYYY-MM; a CommandError saying how to write it otherwise."""
    match = MONTH.match(value.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        raise CommandError(f"“{value}” is not a month: use YYYY-MM, e.g. {today:%Y-%m}")
    first = date(int(match[1]), int(match[2]), 1)
    if first > today:
        raise CommandError(f"{first:%B %Y} has not started yet: choose this month ({today:%Y-%m}) or an earlier one.")
    return first


class ProgressBar:
    """A text bar updated in place: `[###########.........] 5000/10000 invoice lines`, one line per stage."""

    width = 30

    def __init__(self, out):
        self.out = out
        self.stage = None

    def _write(self, text: str) -> None:
        self.out.write(text, ending="", style_func=lambda text: text)
        self.out.flush()

    def update(self, done: int, total: int, stage: str) -> None:
        if self.stage is not None and stage != self.stage:
            self._write("\n")
        self.stage = stage
        filled = self.width if total <= 0 else min(self.width, self.width * done // total)
        self._write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} {stage}")

    def finish(self) -> None:
        if self.stage is not None:
            self._write("\n")
            self.stage = None


class Command(BaseCommand):
    help = ("Create (or extend) a month's draft invoices and mentor payment statements from the completed sessions. "
            "Safe to run again: it changes nothing the second time.")

    def add_arguments(self, parser):
        parser.add_argument("--month", help="The month, as YYYY-MM. Default: this month.")
        parser.add_argument("--issue", action="store_true",
                            help="Also issue the month's drafts: number them and render their PDFs.")

    def handle(self, *args, month=None, issue=False, **options):
        today = timezone.localdate()
        period_start = parse_month(month, today=today) if month is not None else today.replace(day=1)

        bar = ProgressBar(self.stderr)
        try:
            summary = month_end_generate(year=period_start.year, month=period_start.month, progress=bar.update)
        except MonthClosed as closed:
            raise CommandError(" ".join(closed.messages)) from None
        finally:
            bar.finish()
        for line in summary.lines():
            self.stdout.write(line)

        if issue:
            self.issue(period_start)

    def issue(self, period_start: date) -> None:
        """Issue the month's drafts: every invoice that can be (the others stay drafts, each with what to fill in,
        and the command fails so that a script notices) and every statement."""
        drafts = Invoice.objects.filter(period_start=period_start, status=Invoice.Status.DRAFT)
        invoices, refused = invoices_issue_all_possible(invoice_ids=list(drafts.values_list("pk", flat=True)),
                                                        acting_user=None)
        statements = PaymentStatement.objects.filter(period_start=period_start, status=PaymentStatement.Status.DRAFT)
        issued_statements = statements_issue(statement_ids=list(statements.values_list("pk", flat=True)),
                                             acting_user=None)
        self.stdout.write(
            f"Issued {_count(invoices, 'invoice')} and {_count(issued_statements, 'payment statement')}.",
            style_func=self.style.SUCCESS,
        )
        if invoices:
            self.stdout.write(issued_as(invoices))
        if refused:
            for problem in refused:
                self.stderr.write(f"Not issued: {problem}")
            left = drafts.count()
            raise CommandError(f"{left} invoice{'' if left == 1 else 's'} left as draft{'' if left == 1 else 's'}: "
                               "fill in what is missing (above), then run again with --issue.")


def _count(documents, noun: str) -> str:
    if not documents:
        return f"no {noun}s"
    numbers = documents[0].number if len(documents) == 1 else f"{documents[0].number} to {documents[-1].number}"
    return f"{len(documents)} {noun}{'' if len(documents) == 1 else 's'} ({numbers})"
