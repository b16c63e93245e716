"""The Month end page in the Finance admin: choose a month, preview what the run would add and what it leaves out,
run it (as the Celery task; in-process here), run it again safely, and close the month, after which its documents
never change except by credit notes and its late wrap-ups go on the next month's documents."""

import html as html_module
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from invoicing.models import Invoice, InvoiceLine, MonthEndRun, PaymentStatement, StatementLine
from invoicing.services import invoices_issue, month_end_generate, statements_issue
from invoicing.admin.month_end import CLOSE_REASON_MISSING, MonthEndRunAdmin
from invoicing.services.month_close import MonthClosed, month_close
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory, MentorFactory, UserFactory

LONDON = ZoneInfo("Europe/London")
Outcome = ServiceAppointment.Outcome
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 20, 12, tzinfo=LONDON))
PAGE = "/admin/invoicing/monthendrun/month-end/"
RUN = "/admin/invoicing/monthendrun/month-end/run/"
CLOSE = "/admin/invoicing/monthendrun/month-end/close/"


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


def booked(mentor, mentee, day: date, hour=10) -> ServiceAppointment:
    start = timezone.make_aware(datetime.combine(day, time(hour)))
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def wrap_up(appointment, arrangement, minutes=60):
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=appointment.mentor.user,
                               answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=arrangement,
                                              session_notes="Went well.", actual_minutes=minutes))


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def october(db, mentor, mentee):
    """Ann's October: two SFE sessions (£55/h), one self-funded (£40/h), one still to wrap up; Olu's session
    awaiting Finance."""
    sfe = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England",
                                    hourly_rate=Decimal("55.00"))
    sam = FundingArrangementFactory(mentee=MenteeFactory(full_name="Sam Selfpay"), self_funded=True,
                                    hourly_rate=Decimal("40.00"))
    wrap_up(booked(mentor, mentee, date(2026, 10, 5)), sfe)
    wrap_up(booked(mentor, mentee, date(2026, 10, 12)), sfe, minutes=30)
    wrap_up(booked(mentor, sam.mentee, date(2026, 10, 7)), sam)
    forgotten = booked(mentor, mentee, date(2026, 10, 20))
    olu = MentorFactory(user__full_name="Olu Othermentor")
    flagged = booked(olu, mentee, date(2026, 10, 21))
    appointment_wrap_up(appointment_id=flagged.pk, acting_user=olu.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, admin_details="Which funder?"))
    return {"sfe": sfe, "sam": sam, "forgotten": forgotten, "flagged": flagged}


def counts():
    return (Invoice.objects.count(), InvoiceLine.objects.count(), PaymentStatement.objects.count(),
            StatementLine.objects.count())


class TestThePage:
    def test_finance_sees_the_preview_per_customer_and_mentor_and_nothing_is_written(self, finance_client, october):
        response = finance_client.get(PAGE, {"month": "2026-10"})
        assert response.status_code == 200
        preview = response.context["preview"]
        rows = [(row.name, row.kind, row.sessions, row.hours, row.net, row.vat) for row in preview.customers]
        assert rows == [("Student Finance England", "Funder", 2, Decimal("1.50"), Decimal("82.50"), Decimal("16.50")),
                        ("Sam Selfpay", "Self-funded", 1, Decimal("1.00"), Decimal("40.00"), Decimal("8.00"))]
        assert [(row.name, row.sessions) for row in preview.mentors] == [("Ann Mentor", 3)]
        assert counts() == (0, 0, 0, 0) and not MonthEndRun.objects.exists()  # the preview was rolled back

    def test_the_sessions_left_out_are_listed_by_mentor_with_links(self, finance_client, october):
        html = finance_client.get(PAGE, {"month": "2026-10"}).content.decode()
        forgotten, flagged = october["forgotten"], october["flagged"]
        assert f'href="{forgotten.get_absolute_url()}">{forgotten.reference}</a>' in html
        assert reverse("admin:sessions_app_serviceappointment_change", args=[flagged.pk]) in html
        assert reverse("mentor-wrap-up", args=[forgotten.mentor_id]) in html
        outstanding = finance_client.get(PAGE, {"month": "2026-10"}).context["outstanding"]
        assert [(row.mentor.user.full_name, len(row.not_wrapped_up), len(row.awaiting_finance))
                for row in outstanding] == [("Ann Mentor", 1, 0), ("Olu Othermentor", 0, 1)]

    def test_the_admin_home_links_to_it(self, finance_client, db):
        assert f'href="{PAGE}"' in finance_client.get(reverse("admin:index")).content.decode()


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Tasks queued on commit run (Celery is eager here, as on the embedded default)."""
    def run(client, month="2026-10"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(RUN, {"month": month})
    return run


class TestRunning:
    def test_running_from_the_page_runs_the_task_and_shows_the_result(self, finance_client, finance_user, october,
                                                                      run_tasks):
        response = run_tasks(finance_client)
        assert response.status_code == 302 and response.url == f"{PAGE}?month=2026-10"
        # The task is queued when the request commits (here, as the test's transaction lets it, after the response).
        assert messages_of(response) == ["The month end for October 2026 is queued for a worker: refresh this page "
                                         "to see it run and its result."]
        run = MonthEndRun.objects.get()
        assert (run.state, run.requested_by, run.runs) == (MonthEndRun.State.DONE, finance_user, 1)
        assert "invoices: 2 new, 0 drafts extended, 3 lines" in run.result
        assert counts() == (2, 3, 1, 3)
        html = finance_client.get(response.url).content.decode()
        assert "Finished" in html and "invoices: 2 new" in html and 'id="nothing-new"' in html
        history = [(record.history_user, record.history_change_reason) for record in run.history.order_by("pk")]
        assert (finance_user, "Month end asked for in the admin") in history
        assert (finance_user, "Month end finished") in history

    def test_running_again_changes_nothing(self, finance_client, october, run_tasks):
        run_tasks(finance_client)
        before = (counts(), list(Invoice.objects.values_list("pk", "net", "vat", "total")))
        run_tasks(finance_client)
        run = MonthEndRun.objects.get()
        assert run.runs == 2 and "invoices: 0 new, 0 drafts extended, 0 lines" in run.result
        assert (counts(), list(Invoice.objects.values_list("pk", "net", "vat", "total"))) == before

    def test_a_second_submit_while_it_is_queued_is_refused(self, finance_client, october):
        run = MonthEndRun.objects.create(period_start=date(2026, 10, 1), state=MonthEndRun.State.QUEUED,
                                         state_changed_at=timezone.now(), requested_by=UserFactory(full_name="Col"))
        response = finance_client.post(RUN, {"month": "2026-10"})
        assert messages_of(response) == [
            "The month end for October 2026 is already waiting for a worker (asked for by Col; 20 November 2026, "
            "12:00). This page shows when it has finished."]
        run.refresh_from_db()
        assert run.runs == 0 and counts() == (0, 0, 0, 0)

    def test_a_run_stuck_for_over_an_hour_can_be_asked_for_again(self, finance_client, october, run_tasks):
        MonthEndRun.objects.create(period_start=date(2026, 10, 1), state=MonthEndRun.State.RUNNING,
                                   state_changed_at=timezone.now() - timedelta(hours=2))
        run_tasks(finance_client)
        assert MonthEndRun.objects.get().state == MonthEndRun.State.DONE and counts()[0] == 2


def issue_all():
    invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
    statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)), acting_user=None)


class TestClosing:
    def test_the_confirmation_says_what_stops_it_and_has_no_button_then(self, finance_client, october):
        month_end_generate(year=2026, month=10)
        html = finance_client.get(CLOSE, {"month": "2026-10"}).content.decode()
        assert "2 draft invoices of October 2026 are not issued: issue them first (or they could never be)." in html
        assert "1 draft payment statement of October 2026 is not issued" in html
        assert 'id="close-button"' not in html
        response = finance_client.post(CLOSE, {"month": "2026-10", "reason": "Filed."})
        assert response.status_code == 200 and not MonthEndRun.objects.get().is_closed

    def test_this_month_cannot_be_closed_nor_one_never_run(self, finance_client, october):
        html = finance_client.get(CLOSE, {"month": "2026-11"}).content.decode()
        assert "November 2026 is not over yet: a month can be closed once it has ended." in html
        html = finance_client.get(CLOSE, {"month": "2026-10"}).content.decode()
        assert "The month end has not run for October 2026" in html

    def test_closing_needs_a_reason_and_is_in_the_history(self, finance_client, finance_user, october):
        month_end_generate(year=2026, month=10)
        issue_all()
        html = finance_client.get(CLOSE, {"month": "2026-10"}).content.decode()
        assert 'value="Yes, close October 2026"' in html
        assert "A closed month cannot be reopened" in html  # before the clerk confirms
        response = finance_client.post(CLOSE, {"month": "2026-10", "reason": "  "})
        assert response.status_code == 200 and CLOSE_REASON_MISSING in html_module.unescape(response.content.decode())
        assert not MonthEndRun.objects.get().is_closed
        response = finance_client.post(CLOSE, {"month": "2026-10", "reason": "VAT return filed."})
        assert response.status_code == 302
        run = MonthEndRun.objects.get()
        assert (run.closed_by, run.close_reason) == (finance_user, "VAT return filed.")
        last = run.history.latest("history_date")
        assert (last.history_user, last.history_change_reason) == (finance_user, "Month closed: VAT return filed.")
        page = finance_client.get(PAGE, {"month": "2026-10"}).content.decode()
        assert "Month closed by Fay Finance on 20 November 2026" in page and 'id="run-button"' not in page
        assert "A closed month cannot be reopened. To put a mistake right, correct the session" in page
        assert "reopen" not in MonthEndRunAdmin(MonthEndRun, admin.site).get_urls().__repr__().lower()
        # A second close (a double submit) is refused, saying who closed it.
        response = finance_client.post(CLOSE, {"month": "2026-10", "reason": "Again."})
        assert "October 2026 was closed by Fay Finance on 20 November 2026, so it cannot be closed again." in (
            response.content.decode())

    def test_only_finance_with_the_permission_may_close_or_run(self, client, finance_user, leader, october):
        client.force_login(leader)
        for url in (PAGE, CLOSE):
            response = client.get(url, {"month": "2026-10"})
            assert response.status_code == 302 and response.url.startswith("/admin/login/")
        assert client.post(RUN, {"month": "2026-10"}).url.startswith("/admin/login/")
        finance_user.groups.first().permissions.remove(
            *Permission.objects.filter(codename__in=["close_month", "run_month_end"]))
        finance_user = type(finance_user).objects.get(pk=finance_user.pk)
        client.force_login(finance_user)
        assert client.get(CLOSE, {"month": "2026-10"}).status_code == 403
        assert client.post(RUN, {"month": "2026-10"}).status_code == 403
        html = client.get(PAGE, {"month": "2026-10"}).content.decode()
        assert 'id="run-button"' not in html and 'id="close-link"' not in html
        assert counts() == (0, 0, 0, 0)


@pytest.fixture
def closed_october(october, finance_user):
    month_end_generate(year=2026, month=10)
    issue_all()
    return month_close(year=2026, month=10, acting_user=finance_user, reason="Filed.")


class TestAClosedMonth:
    CLOSED = ("October 2026 was closed by Fay Finance on 20 November 2026, so {}. Its invoices and payment "
              "statements can only be corrected by a credit note; sessions of that month wrapped up since go on the "
              "next month's documents.")

    def test_its_month_end_is_refused_from_every_path(self, closed_october, finance_client):
        with pytest.raises(MonthClosed, match="so its month end cannot run again"):
            month_end_generate(year=2026, month=10)
        response = finance_client.post(RUN, {"month": "2026-10"})
        assert messages_of(response) == [self.CLOSED.format("its month end cannot run again")]
        assert "its month end cannot run again" in finance_client.get(PAGE, {"month": "2026-10"}).content.decode()

    def test_a_late_wrap_up_goes_on_next_months_documents(self, closed_october, october):
        wrap_up(october["forgotten"], october["sfe"])
        before = list(Invoice.objects.filter(period_start=date(2026, 10, 1)).values_list("pk", "net", "status"))
        summary = month_end_generate(year=2026, month=11)
        line = InvoiceLine.objects.get(appointment=october["forgotten"])
        assert (line.invoice.period_start, line.is_late) == (date(2026, 11, 1), True)
        assert StatementLine.objects.get(appointment=october["forgotten"]).statement.period_start == date(2026, 11, 1)
        assert summary.late_lines == 2
        assert list(Invoice.objects.filter(period_start=date(2026, 10, 1))
                    .values_list("pk", "net", "status")) == before

    def test_the_database_refuses_a_new_document_or_line_in_it(self, closed_october, mentor, mentee):
        invoice = Invoice.objects.filter(period_start=date(2026, 10, 1)).first()
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.create(period_start=date(2026, 10, 1), period_end=date(2026, 10, 31), group_key="x",
                                   funder=invoice.funder, bill_to_name="X", vat_rate=Decimal("20"))
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(net=Decimal("1.00"), total=Decimal("1.00") + invoice.vat)
        with pytest.raises(IntegrityError), transaction.atomic():
            PaymentStatement.objects.create(mentor=MentorFactory(), period_start=date(2026, 10, 1),
                                            period_end=date(2026, 10, 31))
        line = invoice.lines.first()
        with pytest.raises(IntegrityError), transaction.atomic():
            InvoiceLine.objects.create(invoice=invoice, appointment=booked(mentor, mentee, date(2026, 10, 30)),
                                       session_date=date(2026, 10, 30), reference="SA-9", mentee_name="M",
                                       outcome="attended", minutes=60, hourly_rate=line.hourly_rate, net=line.net)
        # Paying and crediting still work.
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.PAID)

    def test_issuing_a_draft_of_it_is_refused_with_a_message(self, october, finance_user):
        month_end_generate(year=2026, month=10)
        run = MonthEndRun.objects.get()
        # A draft left behind (as if closed before this check existed): the service says why it cannot go out.
        MonthEndRun.objects.filter(pk=run.pk).update(closed_at=timezone.now(), closed_by=finance_user,
                                                     close_reason="Filed.")
        draft = Invoice.objects.first()
        with pytest.raises(ValidationError) as refused:
            invoices_issue(invoice_ids=[draft.pk], acting_user=finance_user)
        assert refused.value.messages == [self.CLOSED.format("no invoice of it can be issued")]
        with pytest.raises(ValidationError, match="no payment statement of it can be issued"):
            statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                             acting_user=finance_user)

    def test_the_session_pages_say_the_month_is_closed(self, closed_october, october, mentor, finance_user):
        session = october["forgotten"]
        client, finance_client = Client(), Client()
        client.force_login(mentor.user)
        finance_client.force_login(finance_user)
        text = ("Month closed by Finance on 20 November 2026: the October 2026 invoices and payment statements are "
                "final.")
        assert text in client.get(session.get_absolute_url()).content.decode()
        admin_page = reverse("admin:sessions_app_serviceappointment_change", args=[session.pk])
        assert text in finance_client.get(admin_page).content.decode()
        november = booked(mentor, session.mentee, date(2026, 11, 2))
        assert "Month closed" not in client.get(november.get_absolute_url()).content.decode()


def test_the_command_and_beats_job_say_the_month_is_closed(closed_october):
    from django.core.management import CommandError, call_command

    from invoicing.tasks import run_month_end

    with pytest.raises(CommandError, match="^October 2026 was closed by Fay Finance on 20 November 2026, so its "
                                           "month end cannot run again"):
        call_command("generate_month_end", "--month", "2026-10")
    # Beat's job held up past midnight into the 1st runs the month before: closed, it does nothing.
    assert run_month_end("2026-11-01").startswith("October 2026 was closed by Fay Finance")
    assert MonthEndRun.objects.get().runs == 1


def test_the_issue_confirmation_gives_the_closed_months_refusal(october, finance_client, finance_user):
    month_end_generate(year=2026, month=10)
    MonthEndRun.objects.filter(period_start=date(2026, 10, 1)).update(
        closed_at=timezone.now(), closed_by=finance_user, close_reason="Filed.")
    response = finance_client.post("/admin/invoicing/invoice/", {
        "action": "issue_selected", "_selected_action": list(Invoice.objects.values_list("pk", flat=True))})
    assert [row["why"] for row in response.context["refused"]] == [
        TestAClosedMonth.CLOSED.format("no invoice of it can be issued")] * 2
    assert 'id="confirm-button"' not in response.content.decode()


def test_the_runs_history_page_shows_who_closed_the_month_and_why(closed_october, finance_client):
    run = MonthEndRun.objects.get()
    response = finance_client.get(reverse("admin:invoicing_monthendrun_history", args=[run.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Month closed: Filed." in html and "Fay Finance" in html


@pytest.mark.django_db
def test_every_closed_month_trigger_survives_the_later_migrations():
    """A migration that rebuilds one of these tables on SQLite drops its triggers without a word."""
    from importlib import import_module

    from django.db import connection

    triggers = import_module("invoicing.migrations.0013_closed_month_triggers_and_permissions")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            expected = set(triggers.SQLITE_TRIGGERS)
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
            expected = {name for names in triggers.POSTGRESQL_TRIGGERS.values() for name in names}
        assert expected <= {name for (name,) in cursor.fetchall()}
