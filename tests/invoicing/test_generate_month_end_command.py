"""`manage.py generate_month_end`: the month-end job by hand, with a progress bar and the job's summary."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.core.management.base import OutputWrapper
from django.utils import timezone

from invoicing.management.commands.generate_month_end import ProgressBar
from invoicing.models import Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementLine
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory
from tests.invoicing.test_invoicing_admin import wrapped_up

BAR = "#" * 30


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


@pytest.fixture
def october(mentor, mentee):
    """Four sessions in October 2026: two for one purchase order, one self-funded, one for another funder."""
    sfe = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", hourly_rate=Decimal("55"))
    sam = FundingArrangementFactory(mentee=MenteeFactory(full_name="Sam Selfpay"), self_funded=True)
    leeds = FundingArrangementFactory(mentee=MenteeFactory(), funder__name="University of Leeds")
    return [
        wrapped_up(mentor, mentee, sfe, date(2026, 10, 5)),
        wrapped_up(mentor, mentee, sfe, date(2026, 10, 6)),
        wrapped_up(mentor, sam.mentee, sam, date(2026, 10, 7)),
        wrapped_up(mentor, leeds.mentee, leeds, date(2026, 10, 8)),
    ]


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("generate_month_end", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def counts():
    return (Invoice.objects.count(), InvoiceLine.objects.count(), PaymentStatement.objects.count(),
            StatementLine.objects.count())


class TestRunning:
    def test_shows_a_progress_bar_and_prints_the_summary(self, october):
        out, err = run("--month", "2026-10")

        assert out.splitlines() == [
            "Month end October 2026",
            "  invoices: 3 new, 0 drafts extended, 4 lines",
            "  payment statements: 1 new, 0 drafts extended, 4 lines",
            "  late sessions from earlier months: 0",
            "  sessions waiting for next month (their document is already issued): 0",
            "  sessions awaiting Finance (not included): 0",
            "  documents issued automatically: 0",
        ]
        # One line per stage, each redrawn in place ("\r") as the job goes, ending full.
        stages = err.split("\n")
        assert stages[-1] == "" and len(stages) == 3
        assert stages[0].startswith("\r[") and stages[0].endswith(f"\r[{BAR}] 4/4 invoice lines")
        assert stages[1].startswith("\r[") and stages[1].endswith(f"\r[{BAR}] 4/4 statement lines")
        assert counts() == (3, 4, 1, 4)
        assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.DRAFT}

    def test_running_again_changes_nothing(self, october):
        run("--month", "2026-10")
        before = counts()

        out, err = run("--month", "2026-10")

        assert out.splitlines()[1:3] == [
            "  invoices: 0 new, 0 drafts extended, 0 lines",
            "  payment statements: 0 new, 0 drafts extended, 0 lines",
        ]
        assert err == ""  # nothing to do, so no bar
        assert counts() == before
        assert MonthEndRun.objects.get(period_start=date(2026, 10, 1)).runs == 2

    def test_a_session_wrapped_up_since_extends_the_draft(self, october, mentor, mentee):
        run("--month", "2026-10")
        arrangement = october[0].funding_arrangement
        wrapped_up(mentor, mentee, arrangement, date(2026, 10, 20))

        out, _ = run("--month", "2026-10")

        assert out.splitlines()[1:3] == [
            "  invoices: 0 new, 1 drafts extended, 1 lines",
            "  payment statements: 0 new, 1 drafts extended, 1 lines",
        ]

    def test_sessions_awaiting_finance_are_counted_not_included(self, mentor, mentee):
        start = timezone.make_aware(datetime(2026, 10, 9, 10))
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start,
                                         ends_at=start + timedelta(hours=1))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                            answers=WrapUp(outcome="attended", admin_details="No funding on file."))
        out, _ = run("--month", "2026-10")
        assert "  sessions awaiting Finance (not included): 1" in out.splitlines()
        assert counts() == (0, 0, 0, 0)

    def test_issue_also_issues_the_months_drafts(self, october):
        year = timezone.localdate().year
        out, _ = run("--month", "2026-10", "--issue")
        assert out.splitlines()[-2:] == [
            f"Issued 3 invoices (INV-{year}-000001 to INV-{year}-000003) and 1 payment statement (PAY-{year}-000001).",
            f"Issued as: 2 VAT invoices; 1 simplified VAT invoice: INV-{year}-000001 (Sam Selfpay), whose customer "
            "has no address on file (allowed up to £250.00 including VAT).",
        ]
        assert set(Invoice.objects.values_list("status", flat=True)) == {Invoice.Status.ISSUED}
        assert PaymentStatement.objects.get().status == PaymentStatement.Status.ISSUED

        out, _ = run("--month", "2026-10", "--issue")
        assert out.splitlines()[-1] == "Issued no invoices and no payment statements."
        assert Invoice.objects.count() == 3

    def test_without_a_month_it_runs_this_month(self, db):
        today = timezone.localdate()
        out, _ = run()
        assert out.splitlines()[0] == f"Month end {today:%B %Y}"
        assert MonthEndRun.objects.get().period_start == today.replace(day=1)


class TestBadMonth:
    @pytest.mark.parametrize("value", ["2026-13", "2026-00", "2026-1", "26-11", "November", "2026/11", ""])
    def test_says_how_to_write_a_month(self, db, value):
        with pytest.raises(CommandError) as raised:
            run("--month", value)
        assert str(raised.value) == f"“{value}” is not a month: use YYYY-MM, e.g. {timezone.localdate():%Y-%m}"
        assert not MonthEndRun.objects.exists()

    def test_a_month_not_started_yet_is_refused(self, db):
        today = timezone.localdate()
        following = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
        with pytest.raises(CommandError) as raised:
            run("--month", f"{following:%Y-%m}")
        assert str(raised.value) == (
            f"{following:%B %Y} has not started yet: choose this month ({today:%Y-%m}) or an earlier one."
        )
        assert not MonthEndRun.objects.exists()


class TestProgressBar:
    def test_draws_in_place_and_starts_a_new_line_for_each_stage(self):
        out = io.StringIO()
        bar = ProgressBar(OutputWrapper(out))
        bar.update(5000, 10000, "invoice lines")
        bar.update(10000, 10000, "invoice lines")
        bar.update(0, 0, "statement lines")
        bar.finish()
        assert out.getvalue() == (
            f"\r[{'#' * 15}{'.' * 15}] 5000/10000 invoice lines"
            f"\r[{BAR}] 10000/10000 invoice lines\n"
            f"\r[{BAR}] 0/0 statement lines\n"
        )
