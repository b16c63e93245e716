"""Accessibility audit (README, "Accessibility"): every page a mentor, Senior Leadership or Finance sees (and what a
mentee is sent), checked in Chromium with axe-core against WCAG 2.2 AA at a desktop and a phone width; then the
wrap-up and cancel wizards walked with the keyboard alone.

axe-core is the file `scripts/setup.sh` fetched (the version and hash in requirements/axe-core.txt); each page gets it
injected, so nothing is fetched while the tests run. The pages share one set of data, seeded once for the module
and served by a live server of the module's own, so that each of the ~130 checks costs a page load and an axe run,
not a database flush and a fresh seed: the whole audit adds well under a minute.
"""

import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit
from unittest import mock

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.template.loader import get_template
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone

from tests.conftest import grant_migration_data, require

ROOT = Path(__file__).resolve().parents[2]
AXE_LOCK = ROOT / "requirements" / "axe-core.txt"
AXE_SPEC = next(line for line in AXE_LOCK.read_text().splitlines() if line and not line.startswith("#")).split()[0]
AXE = ROOT / ".cache" / AXE_SPEC / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA: every rule axe-core has for them.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}
README = ROOT / "README.md"


@dataclass(frozen=True)
class Exception_:
    """A violation the audit accepts: axe's rule, on which page ("*": any), and why. README.md, "Accessibility",
    lists the same, with the same reasons; `test_the_readme_lists_the_same_exceptions` holds the two together."""
    rule: str
    page: str
    reason: str


EXCEPTIONS: list[Exception_] = []


# --------------------------------------------------------------------------- the data every page is seen with


@dataclass
class Seeded:
    mentor: object = None
    other_mentor: object = None
    leader: object = None
    finance: object = None
    started: object = None  # Mo's session three hours ago, to wrap up (one funding arrangement)
    started_two: object = None  # Sid's, five hours ago: two funding arrangements to choose from
    started_keyboard: dict = field(default_factory=dict)  # width -> Sid's, hours ago: the keyboard walk wraps it up
    upcoming: object = None  # Mo's, in four days: cancel and move
    upcoming_keyboard: dict = field(default_factory=dict)  # width -> Mo's, in five days: the keyboard walk cancels it
    late: object = None  # Mo's, in three hours: cancelling it is a late-notice cancellation
    in_series: object = None  # the first of a weekly series
    cancelled: object = None
    completed: object = None  # wrapped up three days ago
    awaiting: object = None  # wrapped up with no funding arrangement: with Finance
    busy_month: date = None  # a month of the mentor's with eight sessions on one day
    ticket: object = None
    invoice: object = None  # March 2026's, issued
    draft_invoice: object = None  # February 2026's
    statement: object = None  # March 2026's, issued
    payment_run: object = None
    mentee: object = None
    former_mentee: object = None  # no session to come: may be erased
    personal_data_summary: str = ""  # the HTML summary in Mo's subject access export
    server_error_page: str = ""  # jinja2/500.html as Django's server_error view renders it
    cookies: dict = field(default_factory=dict)  # role -> session cookie value


def seed() -> Seeded:
    from axes.models import AccessAttempt

    from invoicing.models import Invoice, OrganisationDetails, PaymentStatement
    from invoicing.services import invoices_issue, month_end_generate, statements_issue, ticket_raise
    from invoicing.services.month_end_admin import month_end_request
    from invoicing.services.payment_runs import next_working_day_after, payment_run_create
    from privacy.services.export import personal_data_export
    from sessions_app import roles
    from sessions_app.models import CancellationReason, MentorAssignment, ServiceAppointment
    from sessions_app.scheduling import Repeat
    from sessions_app.services import (
        WrapUp,
        appointment_cancel,
        appointment_wrap_up,
        bank_details_save,
        mentor_address_save,
        series_book,
        wrap_up_request_submit,
    )
    from tests.factories import (
        AppointmentFactory,
        FundingArrangementFactory,
        MenteeFactory,
        MentorFactory,
        UserFactory,
    )

    s = Seeded()
    OrganisationDetails.objects.update_or_create(pk=1, defaults={
        "vat_registered": True, "vat_number": "GB 123 4567 89", "issue_automatically": False,
        "payer_account_name": "Mentoring", "payer_sort_code": "400102", "payer_account_number": "11223344"})
    s.mentor = MentorFactory(user__full_name="Ann Mentor", user__email="ann@example.com")
    s.other_mentor = MentorFactory(user__full_name="Olu Othermentor", user__email="olu@example.com")
    s.leader = UserFactory(full_name="Lee Leader", email="lee@example.com", roles=[roles.SENIOR_LEADERSHIP])
    s.finance = UserFactory(full_name="Fay Finance", email="fay@example.com", roles=[roles.FINANCE])
    mentor_address_save(mentor=s.mentor, acting_user=s.mentor.user, address="2 Low Road\nLeeds LS1 1AA")
    bank_details_save(mentor=s.mentor, acting_user=s.mentor.user, account_name="Ann Mentor", sort_code="12-34-56",
                      account_number="12345678")

    s.mentee = mo = MenteeFactory(full_name="Mo Mentee")
    arrangement = FundingArrangementFactory(mentee=mo, funder__name="Student Finance England", reference="SFE-42",
                                            hours_allowance=Decimal("20"))
    sid = MenteeFactory(full_name="Sid Twofunders")
    FundingArrangementFactory(mentee=sid, funder__name="University of Northbridge", reference="PO-77")
    FundingArrangementFactory(mentee=sid, self_funded=True)
    nia = MenteeFactory(full_name="Nia Nofunding")
    s.former_mentee = MenteeFactory(full_name="Pat Former")
    for mentee in (mo, sid, nia):
        MentorAssignment.objects.create(mentor=s.mentor, mentee=mentee)

    now = timezone.now().replace(second=0, microsecond=0)

    def book(mentee, starts_at, minutes=60, mentor=None, **status):
        return AppointmentFactory(mentor=mentor or s.mentor, mentee=mentee, starts_at=starts_at,
                                  ends_at=starts_at + timedelta(minutes=minutes), **status)

    s.started = book(mo, now - timedelta(hours=3))
    s.started_two = book(sid, now - timedelta(hours=5))
    for hours, width in enumerate(WIDTHS):
        s.started_keyboard[width] = book(sid, now - timedelta(hours=7 + hours * 2))
        s.upcoming_keyboard[width] = book(mo, now + timedelta(days=5, hours=hours * 2))
    s.upcoming = book(mo, now + timedelta(days=4))
    s.late = book(mo, now + timedelta(hours=3))
    s.cancelled = book(mo, now + timedelta(days=6))
    appointment_cancel(appointment_id=s.cancelled.pk, acting_user=s.mentor.user,
                       reason=CancellationReason.objects.filter(is_active=True).first(),
                       internal_note="Exam week.")
    s.cancelled.refresh_from_db()
    s.completed = appointment_wrap_up(
        appointment_id=book(mo, now - timedelta(days=3)).pk, acting_user=s.mentor.user,
        answers=WrapUp(outcome="attended", funding_arrangement=arrangement, session_notes="Planned the essay.",
                       actual_minutes=55))
    s.awaiting = appointment_wrap_up(
        appointment_id=book(nia, now - timedelta(days=2)).pk, acting_user=s.mentor.user,
        answers=WrapUp(outcome="attended", session_notes="Went well.", actual_minutes=60,
                       admin_details="No funding on file: Nia says her university pays from this term."))
    s.ticket = ticket_raise(raised_by=s.mentor.user, subject="Which funding?", appointment=s.started,
                            message="Mo says the university pays now; which arrangement do I choose?")
    first_in_series = timezone.localtime(now + timedelta(days=10))
    _, booked = series_book(acting_user=s.mentor.user, mentor=s.mentor, mentee=mo, first_day=first_in_series.date(),
                            start_time=time(10), booked_minutes=60, mode="phone", location="",
                            repeat=Repeat(1, count=3))
    s.in_series = booked[0]

    # The busy month: the month after next, eight sessions on its 10th and two on a few other days, for both mentors.
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1 + 2
    s.busy_month = date(index // 12, index % 12 + 1, 1)
    for hour in range(8, 16):
        book(mo if hour % 2 else sid, timezone.make_aware(datetime.combine(s.busy_month.replace(day=10), time(hour))),
             minutes=45)
    for day in (3, 4, 17, 24):
        for mentor, hour in ((s.mentor, 9), (s.other_mentor, 14)):
            book(mo, timezone.make_aware(datetime.combine(s.busy_month.replace(day=day), time(hour))), mentor=mentor)

    # Olu has sessions to wrap up and asked Senior Leadership to do it; Senior Leadership's lists show them.
    olus = [book(nia, now - timedelta(days=days, hours=1), mentor=s.other_mentor) for days in (1, 2, 3)]
    wrap_up_request_submit(mentor=s.other_mentor, acting_user=s.other_mentor.user,
                           items=[(olus[0].pk, "did_not_attend", None, "")], message="On leave this week.")

    # Someone locked out after five failed log-ins.
    AccessAttempt.objects.create(username="olu@example.com", ip_address="127.0.0.1", user_agent="Chromium",
                                 http_accept="text/html", path_info="/accounts/login/", failures_since_start=5,
                                 get_data="", post_data="")

    # Documents: February 2026 left a draft; March 2026 through its month end, issued; a payment run.
    with mock.patch("invoicing.services.documents._after_issue"):  # no PDFs: the pages only link to them
        for day in (3, 10):
            start = timezone.make_aware(datetime(2026, 3, day, 10))
            book(mo, start, status=ServiceAppointment.Status.COMPLETED, outcome=ServiceAppointment.Outcome.ATTENDED,
                 funding_arrangement=arrangement, wrapped_up_by=s.mentor.user, wrapped_up_at=start)
        month_end_request(year=2026, month=3, acting_user=s.finance)  # Celery runs in-process: it has run
        (s.invoice,) = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)),
                                      acting_user=s.finance, today=date(2026, 3, 31))
        (s.statement,) = statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                                          acting_user=s.finance, today=date(2026, 3, 31))
        start = timezone.make_aware(datetime(2026, 2, 3, 10))
        book(mo, start, status=ServiceAppointment.Status.COMPLETED, outcome=ServiceAppointment.Outcome.ATTENDED,
             funding_arrangement=arrangement, wrapped_up_by=s.mentor.user, wrapped_up_at=start)
        month_end_generate(year=2026, month=2)
        s.draft_invoice = Invoice.objects.get(status=Invoice.Status.DRAFT)
    approved = PaymentStatement.objects.create(
        number="PAY-2026-000099", status=PaymentStatement.Status.APPROVED, mentor=s.mentor,
        period_start=date(2026, 1, 1), period_end=date(2026, 1, 31), total=Decimal("97.50"),
        issue_date=date(2026, 1, 31))
    s.payment_run = payment_run_create(statement_ids=[approved.pk], acting_user=s.finance,
                                       payment_date=next_working_day_after(today, 3))

    # What a mentee is sent: the summary in their subject access export.
    _, chunks = personal_data_export(kind="mentee", person=mo, acting_user=s.finance)
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        (summary,) = [name for name in archive.namelist() if name.endswith(".html")]
        s.personal_data_summary = archive.read(summary).decode()
    s.server_error_page = get_template("500.html").render({})

    for role, user in (("mentor", s.mentor.user), ("leader", s.leader), ("finance", s.finance)):
        client = Client()
        client.force_login(user)
        s.cookies[role] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return s


def _is_test_database() -> bool:
    name = str(connection.settings_dict["NAME"])
    return name.startswith("test_") or connection.vendor == "sqlite" and connection.is_in_memory_db()


@pytest.fixture(scope="module")
def site(request, django_db_setup, django_db_blocker):
    """The module's own live server on the seeded data. Its tests use no database fixture (so pytest-django runs
    them after the transactional tests, which flush as they go); the data is committed, and flushed at the end."""
    if not AXE.exists():
        require("chromium", f"needs axe-core at {AXE.relative_to(ROOT)}: run ./scripts/setup.sh, which fetches it")
    from pytest_django.live_server_helper import LiveServer

    from mentoring.celery import app

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with django_db_blocker.unblock():
        own_database = None
        if not _is_test_database():  # only these tests were chosen, so pytest-django set up no test database
            from django.test.utils import setup_databases, teardown_databases

            own_database = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        eager, app.conf.task_always_eager = app.conf.task_always_eager, True
        call_command("flush", interactive=False, verbosity=0)
        grant_migration_data()
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            seeded = seed()
        server = LiveServer("localhost")
        server._live_server_modified_settings.enable()
        try:
            yield server.url, seeded
        finally:
            server._live_server_modified_settings.disable()
            server.stop()
            app.conf.task_always_eager = eager
            call_command("flush", interactive=False, verbosity=0)
            if own_database is not None:
                teardown_databases(own_database, verbosity=0)


@pytest.fixture(scope="module")
def tabs(browser, site):
    """A browser tab per role and width, logged in (the session made by Django's test client), opened once. axe-core
    is injected into every page the tab opens (the pages' Content-Security-Policy allows no script but their own:
    axe is let in by the tests alone)."""
    url, seeded = site
    opened = {}

    def tab(role, width):
        if (role, width) not in opened:
            context = browser.new_context(base_url=url, viewport=WIDTHS[width], bypass_csp=True)
            context.add_init_script(path=AXE)
            if role != "anonymous":
                context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": seeded.cookies[role],
                                      "url": url}])
            page = context.new_page()
            page.set_default_timeout(10_000)
            opened[role, width] = page
        return opened[role, width]

    yield tab
    for page in opened.values():
        page.context.close()


def axe_violations(page) -> list[dict]:
    return page.evaluate(
        """async tags => {
            const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return results.violations.map(v => ({
                rule: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary})),
            }));
        }""",
        WCAG_AA,
    )


def describe(violations) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['rule']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['summary'].splitlines()[-1].strip()}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the pages


@dataclass
class Audited:
    name: str
    role: str  # "anonymous", "mentor", "leader" (Senior Leadership) or "finance"
    open: Callable  # (page, seeded) -> None: leaves the page showing what is checked


def go(path: Callable[[Seeded], str]):
    def open_(page, s):
        response = page.goto(path(s))
        assert response.status < 500, f"{page.url} answered {response.status}"
    return open_


def sa_url(name, which, query=""):
    return lambda s: reverse(name, args=[getattr(s, which).reference]) + query


def admin_url(name, which=None, query=""):
    return lambda s: reverse(f"admin:{name}", args=[getattr(s, which).pk] if which else []) + query


def then(*actions):
    def open_(page, s):
        for action in actions:
            action(page, s)
    return open_


def click(role, name):
    def action(page, s):
        page.get_by_role(role, name=name, exact=True).click()
        page.wait_for_load_state()
    return action


def choose(label):
    return lambda page, s: page.get_by_label(label, exact=True).check()


def fill(label, value):
    return lambda page, s: page.get_by_label(label, exact=True).fill(value)


def select(label, option):
    return lambda page, s: page.get_by_label(label, exact=True).select_option(label=option)


def admin_action(changelist, which, action):
    """Tick one row of an admin list, choose the action and press Go: the confirmation page it answers with."""
    def open_(page, s):
        page.goto(reverse(f"admin:{changelist}"))
        page.locator(f"input[name=_selected_action][value='{getattr(s, which).pk}']").check()
        page.locator("select[name=action]").select_option(action)
        page.get_by_role("button", name="Go").click()
        page.wait_for_load_state()
    return open_


def served(attribute):
    """A page the server does not serve by its own address (the 500 page, a file in an export): given to Chromium
    as if it came from the live server, so that its stylesheet loads from there."""
    def open_(page, s):
        page.route("**/__audited__", lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                                                   body=getattr(s, attribute)))
        page.goto("/__audited__")
        page.unroute("**/__audited__")
    return open_


def busy_calendar(s):
    return reverse("calendar-month", args=[s.busy_month.year, s.busy_month.month])


PAGES = [
    # ---- anyone
    Audited("Log-in page", "anonymous", go(lambda s: reverse("login"))),
    Audited("Log-in page, a wrong password", "anonymous", then(
        go(lambda s: reverse("login")), fill("Email address", "nobody@example.com"), fill("Password", "wrong"),
        click("button", "Log in"))),
    Audited("Page not found (404)", "anonymous", go(lambda s: "/no-such-page/")),
    Audited("Something went wrong (500)", "anonymous", served("server_error_page")),
    # ---- a mentor
    Audited("Homepage", "mentor", go(lambda s: reverse("home"))),
    Audited("Calendar, this month", "mentor", go(lambda s: reverse("calendar"))),
    Audited("Calendar, a busy month", "mentor", go(busy_calendar)),
    Audited("Calendar, a month with no sessions", "mentor", go(lambda s: reverse("calendar-month", args=[2025, 1]))),
    Audited("Dashboard", "mentor", go(lambda s: reverse("dashboard"))),
    Audited("SA page, to wrap up", "mentor", go(sa_url("appointment-detail", "started"))),
    Audited("SA page, upcoming in a series", "mentor", go(sa_url("appointment-detail", "in_series"))),
    Audited("SA page, cancelled", "mentor", go(sa_url("appointment-detail", "cancelled"))),
    Audited("Wrap Up Session: what happened", "mentor", go(sa_url("appointment-wrap-up", "started"))),
    Audited("Wrap Up Session: what happened, nothing chosen", "mentor", then(
        go(sa_url("appointment-wrap-up", "started")), click("button", "Next"))),
    Audited("Wrap Up Session: funding, two to choose from", "mentor", then(
        go(sa_url("appointment-wrap-up", "started_two")), choose("Attended"), click("button", "Next"))),
    Audited("Wrap Up Session: funding, none chosen", "mentor", then(
        go(sa_url("appointment-wrap-up", "started_two")), choose("Attended"), click("button", "Next"),
        click("button", "Next"))),
    Audited("Wrap Up Session: notes, a wrong duration", "mentor", then(
        go(sa_url("appointment-wrap-up", "started")), choose("Attended"), click("button", "Next"),
        click("button", "Next"), fill("Actual duration (minutes)", "0"), click("button", "Next"))),
    Audited("Wrap Up Session: review", "mentor", then(
        go(sa_url("appointment-wrap-up", "started")), choose("Attended"), click("button", "Next"),
        click("button", "Next"), fill("What was covered?", "Planned the essay."), click("button", "Next"))),
    Audited("Wrap Up Session: late-notice cancellation", "mentor", then(
        go(sa_url("appointment-cancel", "late")), click("button", "Next"))),
    Audited("Cancel Session: reason and note", "mentor", go(sa_url("appointment-cancel", "upcoming"))),
    Audited("Cancel Session: reason and note, left empty", "mentor", then(
        go(sa_url("appointment-cancel", "upcoming")), click("button", "Next"))),
    Audited("Cancel Session: preview and confirm", "mentor", then(
        go(sa_url("appointment-cancel", "upcoming")), select("Cancellation reason", "Mentor unavailable"),
        fill("Internal cancellation note", "Training day."), click("button", "Next"))),
    Audited("Book a session", "mentor", go(lambda s: reverse("session-book"))),
    Audited("Book a session, nothing filled in", "mentor", then(
        go(lambda s: reverse("session-book")), click("button", "Check"))),
    Audited("Book a session: check a weekly series", "mentor", then(
        go(lambda s: reverse("session-book")), select("Mentee", "Mo Mentee"),
        lambda page, s: page.get_by_label("Date", exact=True).fill(
            (timezone.localdate() + timedelta(days=40)).isoformat()),
        fill("Starts at", "16:00"), fill("Length (minutes)", "45"), choose("Phone"), select("Repeat", "Weekly"),
        fill("Number of sessions", "3"), click("button", "Check"))),
    Audited("Move a session", "mentor", go(sa_url("appointment-move", "upcoming"))),
    Audited("This and all following", "mentor", go(sa_url("appointment-series", "in_series"))),
    Audited("Ticket to Finance", "mentor", go(sa_url("appointment-ticket", "started"))),
    Audited("Wrap-up request to Senior Leadership", "mentor", go(lambda s: reverse("wrap-up-request"))),
    Audited("My details", "mentor", go(lambda s: reverse("my-details"))),
    Audited("My details, a wrong sort code", "mentor", then(
        go(lambda s: reverse("my-details")), fill("Sort code", "12-34-5"), fill("Account number", "12345678"),
        fill("Name on the account", "Ann Mentor"), click("button", "Save my details"))),
    # ---- Senior Leadership
    Audited("Homepage (Senior Leadership)", "leader", go(lambda s: reverse("home"))),
    Audited("Dashboard (Senior Leadership)", "leader", go(lambda s: reverse("dashboard"))),
    Audited("Calendar, a busy month (Senior Leadership)", "leader", go(busy_calendar)),
    Audited("SA page, wrapped up (Senior Leadership)", "leader", go(sa_url("appointment-detail", "completed"))),
    Audited("Correct outcome or notes", "leader", go(sa_url("appointment-correct", "completed"))),
    Audited("A mentor's sessions to wrap up", "leader",
            go(lambda s: reverse("mentor-wrap-up", args=[s.other_mentor.pk]))),
    Audited("A mentor's sessions: the result", "leader", then(
        go(lambda s: reverse("mentor-wrap-up", args=[s.other_mentor.pk])),
        lambda page, s: page.locator("select[name^=outcome_]").first.select_option(label="Attended"),
        click("button", "Wrap up the chosen sessions"))),
    Audited("Locked-out accounts", "leader", go(lambda s: reverse("locked-out-accounts"))),
    # ---- Finance, in the admin (the pages the project customises, and the lists Finance works from)
    Audited("Admin: log-in page", "anonymous", go(lambda s: reverse("admin:login"))),
    Audited("Admin: home", "finance", go(lambda s: reverse("admin:index"))),
    Audited("Admin: change password", "finance", go(lambda s: reverse("admin:password_change"))),
    Audited("Admin: Finance queue", "finance", go(lambda s: reverse("admin:finance_queue"))),
    Audited("Admin: a Finance ticket", "finance", go(admin_url("invoicing_financeticket_change", "ticket"))),
    Audited("Admin: Service Appointments", "finance", go(lambda s: reverse("admin:sessions_app_serviceappointment_changelist"))),
    Audited("Admin: a Service Appointment", "finance", go(admin_url("sessions_app_serviceappointment_change", "completed"))),
    Audited("Admin: complete a wrap-up", "finance",
            go(admin_url("sessions_app_serviceappointment_complete_wrap_up", "awaiting"))),
    Audited("Admin: correct a wrap-up", "finance",
            go(admin_url("sessions_app_serviceappointment_correct_wrap_up", "completed"))),
    Audited("Admin: reopen a session", "finance", go(admin_url("sessions_app_serviceappointment_reopen", "completed"))),
    Audited("Admin: a mentee", "finance", go(admin_url("sessions_app_mentee_change", "mentee"))),
    Audited("Admin: a mentor", "finance", go(admin_url("sessions_app_mentor_change", "mentor"))),
    Audited("Admin: erase a mentee, the confirmation", "finance",
            admin_action("sessions_app_mentee_changelist", "former_mentee", "erase_person")),
    Audited("Admin: Month end page", "finance", go(admin_url("invoicing_month_end"))),
    Audited("Admin: Month end page, a month run", "finance", go(admin_url("invoicing_month_end", query="?month=2026-03"))),
    Audited("Admin: close a month, the confirmation", "finance",
            go(admin_url("invoicing_month_close", query="?month=2026-03"))),
    Audited("Admin: month-end runs", "finance", go(admin_url("invoicing_monthendrun_changelist"))),
    Audited("Admin: outcome policy", "finance", go(admin_url("invoicing_outcomepolicy_changelist"))),
    Audited("Admin: invoices", "finance", go(admin_url("invoicing_invoice_changelist"))),
    Audited("Admin: an issued invoice", "finance", go(admin_url("invoicing_invoice_change", "invoice"))),
    Audited("Admin: credit an invoice", "finance", go(admin_url("invoicing_invoice_credit", "invoice"))),
    Audited("Admin: a draft invoice's Issue page", "finance", go(admin_url("invoicing_invoice_issue", "draft_invoice"))),
    Audited("Admin: issue selected invoices, the confirmation", "finance",
            admin_action("invoicing_invoice_changelist", "draft_invoice", "issue_selected")),
    Audited("Admin: an issued payment statement", "finance",
            go(admin_url("invoicing_paymentstatement_change", "statement"))),
    Audited("Admin: a new payment run", "finance", go(admin_url("invoicing_paymentrun_add"))),
    Audited("Admin: a payment run", "finance", go(admin_url("invoicing_paymentrun_change", "payment_run"))),
    Audited("Admin: mark a payment run paid", "finance",
            go(admin_url("invoicing_paymentrun_mark_paid", "payment_run"))),
    Audited("Admin: cancel a payment run", "finance", go(admin_url("invoicing_paymentrun_cancel", "payment_run"))),
    # ---- what a mentee is sent
    Audited("A mentee's personal data export: the summary", "anonymous", served("personal_data_summary")),
]

# The mentee's sign-off pages (issue 19; built beside this audit): the lead adds them here at merge, each as an
# Audited(name, "anonymous", go(...)) on its signed link.
def sign_off_link(s) -> str:
    from sessions_app.services.sign_off import sign_off_token

    return reverse("sign-off", args=[sign_off_token(s.completed.sign_off)])


MENTEE_PAGES = [
    Audited("My mentees", "mentor", go(lambda s: reverse("mentee-list"))),
    Audited("Mentees, searched by name", "leader", go(lambda s: reverse("mentee-list") + "?q=Mo")),
    Audited("A mentee's page", "mentor", go(lambda s: reverse("mentee-detail", args=[s.mentee.pk]))),
]

# What a mentee sees by the personal link in their attendance email.
SIGN_OFF_PAGES = [
    Audited("Sign-off: is this right?", "anonymous", go(sign_off_link)),
    Audited("Sign-off: a link that does not work", "anonymous", go(lambda s: reverse("sign-off", args=["x" * 40]))),
]

AUDITED = {audited.name: audited for audited in PAGES + MENTEE_PAGES + SIGN_OFF_PAGES}

# The project's addresses that answer with no page for a person to read, by URL name (the admin's are Finance's
# pages: those the project customises are in PAGES).
NOT_PAGES = {
    "healthz": "a line of text for load balancers",
    "logout": "a POST that leads to the log-in page",
    "calendar-feed": "an iCalendar file for calendar apps",
    "calendar-feed-new-address": "a POST that leads back to the calendar",
    "unlock-account": "a POST that leads back to the locked-out accounts",
    "document-pdf": "a PDF (invoices, credit notes and statements)",
    "timesheet-pdf": "a PDF (a funded arrangement's timesheet for a month)",
}
AUDITED_URL_NAMES: dict[str, set] = {}  # URL name -> the audited pages that showed it, as the audit runs
AUDITS_RAN: set = set()  # (page, width) of each audit that opened its page


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", AUDITED)
def test_page_meets_wcag_2_2_aa(tabs, site, name, width):
    audited = AUDITED[name]
    page = tabs(audited.role, width)
    audited.open(page, site[1])
    violations = axe_violations(page)
    AUDITS_RAN.add((name, width))
    try:
        AUDITED_URL_NAMES.setdefault(resolve(urlsplit(page.url).path).url_name, set()).add((name, width))
    except Resolver404:
        pass  # the 404 page, and what is given to Chromium (`served`)
    accepted = {(e.rule, e.page) for e in EXCEPTIONS}
    found = [v for v in violations if (v["rule"], name) not in accepted and (v["rule"], "*") not in accepted]
    assert not found, f"{name} at {width} width:\n{describe(found)}"


def project_url_names(resolver=None) -> set[str]:
    """The name of every address the project defines outside the admin."""
    names = set()
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                names |= project_url_names(entry)
        elif isinstance(entry, URLPattern) and entry.name:
            names.add(entry.name)
    return names


def test_every_page_of_the_project_is_audited():
    """A new page fails here until it is in PAGES (or, if it is no page for a person, in NOT_PAGES)."""
    if len(AUDITS_RAN) < len(AUDITED) * len(WIDTHS):
        pytest.skip("the audit above did not run in full in this session, so it cannot tell which pages it saw")
    missing = project_url_names() - set(AUDITED_URL_NAMES) - set(NOT_PAGES)
    assert not missing, f"pages no audit opens: {sorted(missing)} (add them to PAGES or SIGN_OFF_PAGES)"
    assert not set(NOT_PAGES) - project_url_names(), "NOT_PAGES names an address the project no longer has"


def readme_exceptions() -> list[Exception_]:
    """The table under "### Exceptions to the audit" in README.md's "Accessibility" section."""
    text = README.read_text()
    section = text[text.index("### Exceptions to the audit"):]
    section = section[:section.index("\n#", 1)]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]  # past the header and its rule
    return [Exception_(*(cell.strip().strip("`") for cell in row.strip("|").split("|"))) for row in rows]


def test_the_readme_lists_the_same_exceptions():
    assert readme_exceptions() == EXCEPTIONS, "README.md's exceptions and EXCEPTIONS here differ: make them agree"


# --------------------------------------------------------------------------- the wizards, by keyboard alone

FOCUSABLE = "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]"

# What the focused element is, where it is on the page, and how it is drawn; with `baseline`, how every element
# that can take the focus is drawn without it (keyed by a data attribute the baseline adds).
FOCUS_JS = """(baseline) => {
    const drawn = el => { const s = getComputedStyle(el);
        return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(' | '); };
    if (baseline) {
        document.querySelectorAll(arguments_selector).forEach((el, i) => {
            el.dataset.kbd = i; el.dataset.kbdDrawn = drawn(el); });
        return null;
    }
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
    return {
        key: el.dataset.kbd || null, tag: el.tagName.toLowerCase(), type: el.type || '', id: el.id, name: el.name || '',
        text: (el.innerText || el.value || '').trim().slice(0, 60), label: label.trim(),
        top: r.top + scrollY, left: r.left + scrollX, height: r.height, width: r.width,
        drawn: drawn(el), unfocused: el.dataset.kbdDrawn || null,
        outlineVisible: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
        shadowVisible: s.boxShadow !== 'none',
    };
}""".replace("arguments_selector", repr(FOCUSABLE))


def focused(page):
    return page.evaluate(FOCUS_JS, False)


def name_of(info):
    return info["label"] or info["text"] or info["name"] or info["id"] or info["tag"]


def tab_through(page, limit=60) -> list[dict]:
    """Tab from the top of the page to its end, as a keyboard user does, noting each element the focus lands on."""
    page.evaluate(FOCUS_JS, True)
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        if info is None or (seen and info["key"] == seen[0]["key"]):
            return seen
        seen.append(info)
    raise AssertionError(f"the focus did not leave the page after {limit} presses of Tab")


def assert_focus_follows_the_page(seen):
    """Each stop is drawn with a visible focus indicator that it lacks unfocused (WCAG 2.4.7), and the stops follow
    the page as it reads, top to bottom and, along a line, left to right (WCAG 2.4.3)."""
    assert seen, "nothing on the page takes the focus"
    for info in seen:
        assert info["outlineVisible"] or info["shadowVisible"], f"no visible focus on {name_of(info)}: {info['drawn']}"
        assert info["drawn"] != info["unfocused"], f"{name_of(info)} looks the same with and without the focus"
    for before, after in zip(seen, seen[1:]):
        same_line = after["top"] < before["top"] + before["height"] and before["top"] < after["top"] + after["height"]
        in_order = after["left"] >= before["left"] - 1 if same_line else after["top"] >= before["top"]
        assert in_order, (f"the focus goes from {name_of(before)} to {name_of(after)}, against the order on the page: "
                          f"{[name_of(info) for info in seen]}")


def tab_to(page, name=None, *, field=None, limit=60) -> dict:
    """Tab on until the focus is on `name` (a control's label or text), or on a control of the form field `field`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = focused(page)
        if info and (name_of(info) == name if field is None else info["name"] == field):
            return info
    raise AssertionError(f"Tab never reached {name or field!r}")


def accessible(page, element_id) -> dict:
    """What Chromium tells a screen reader about the element: its role, name, description and whether it is invalid
    (the accessibility tree, through the DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f"#{element_id}"})["nodeId"]
        (ax, *_) = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})["nodes"]
    finally:
        cdp.detach()
    properties = {p["name"]: p["value"].get("value") for p in ax.get("properties", [])}
    return {"role": ax["role"]["value"], "name": ax.get("name", {}).get("value", ""),
            "description": ax.get("description", {}).get("value", ""), "invalid": properties.get("invalid")}


def assert_error_announced(page, error):
    """After a page comes back with an error, the focus is on the field in error (its radio group, for choices), and
    what a screen reader reads there includes the error: the field is invalid and the error is its description."""
    page.get_by_text(error).first.wait_for()
    element_id = page.evaluate("document.activeElement.id")
    assert element_id, "the focus is not on the field in error"
    told = accessible(page, element_id)
    assert error in told["description"], f"the focused {told['role']} {told['name']!r} does not read out {error!r}"
    if told["role"] == "group":  # a radio group: each of its choices is marked invalid
        assert page.locator(f"#{element_id} input[type=radio]").evaluate_all(
            "radios => radios.every(r => r.getAttribute('aria-invalid') === 'true')")
    else:
        assert told["invalid"] not in (None, "false"), f"{told['name']!r} is not marked invalid"


@pytest.fixture(params=WIDTHS)
def keyboard(request, browser, site):
    url, seeded = site
    context = browser.new_context(base_url=url, viewport=WIDTHS[request.param])
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": seeded.cookies["mentor"], "url": url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page, seeded, request.param
    context.close()


def press_on(page, name, key="Enter"):
    tab_to(page, name)
    with page.expect_navigation():
        page.keyboard.press(key)


def test_the_wrap_up_wizard_by_keyboard_alone(keyboard):
    from sessions_app.models import ServiceAppointment

    page, s, width = keyboard
    appointment = s.started_keyboard[width]
    page.goto(reverse("appointment-wrap-up", args=[appointment.reference]))

    # What happened? Tab order and focus first; then Next with nothing chosen, and the error is read out.
    assert_focus_follows_the_page(tab_through(page))
    press_on(page, "Next")
    assert_error_announced(page, "Choose what happened in the session.")
    page.keyboard.press("Tab")  # into the choices: the first is focused; Space chooses it, arrows move the choice
    page.keyboard.press("Space")
    for _ in range(10):
        if page.get_by_label("Attended", exact=True).is_checked():
            break
        page.keyboard.press("ArrowDown")
    assert page.get_by_label("Attended", exact=True).is_checked()
    press_on(page, "Next")

    # Funding Type: two arrangements; the first is chosen with the keyboard.
    page.get_by_role("heading", name="Funding Type").wait_for()
    assert_focus_follows_the_page(tab_through(page))
    tab_to(page, field="funding-funding")  # into the choices, none chosen yet: the first is focused
    page.keyboard.press("Space")
    assert page.locator("input[name=funding-funding]").first.is_checked()
    press_on(page, "Next")

    # Session notes: a duration of 0 is refused and read out; then notes and 55 minutes, Enter to go on.
    page.get_by_role("heading", name="Session notes").wait_for()
    assert_focus_follows_the_page(tab_through(page))
    tab_to(page, "What was covered?")
    page.keyboard.type("Planned the dissertation chapters.")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("0")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert_error_announced(page, "The actual duration must be at least")
    page.keyboard.press("Control+A")
    page.keyboard.type("55")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Review, then Submit wrap-up.
    page.get_by_role("heading", name="Review").wait_for()
    assert_focus_follows_the_page(tab_through(page))
    press_on(page, "Submit wrap-up")
    page.get_by_text(f"{appointment.reference} is wrapped up.").wait_for()
    appointment.refresh_from_db()
    assert (appointment.status, appointment.actual_minutes) == (ServiceAppointment.Status.COMPLETED, 55)
    assert appointment.session_notes == "Planned the dissertation chapters."


def test_the_cancel_wizard_by_keyboard_alone(keyboard):
    from sessions_app.models import ServiceAppointment

    page, s, width = keyboard
    appointment = s.upcoming_keyboard[width]
    page.goto(reverse("appointment-cancel", args=[appointment.reference]))

    assert_focus_follows_the_page(tab_through(page))
    press_on(page, "Next")
    assert_error_announced(page, "Choose a cancellation reason from the list.")  # the reason, first of the two
    page.keyboard.press("ArrowDown")  # the first reason on the list
    assert page.get_by_label("Cancellation reason").input_value()
    page.keyboard.press("Tab")
    told = accessible(page, page.evaluate("document.activeElement.id"))
    assert "Add an internal cancellation note" in told["description"] and told["invalid"] not in (None, "false")
    page.keyboard.type("Training day; not for the mentee.")
    press_on(page, "Next")

    page.get_by_role("heading", name="Check the attendance email, then confirm").wait_for()
    assert_focus_follows_the_page(tab_through(page))
    press_on(page, "Confirm cancellation")
    page.get_by_text(f"{appointment.reference} is cancelled.").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == ServiceAppointment.Status.CANCELLED
    assert appointment.cancellation_note == "Training day; not for the mentee."
