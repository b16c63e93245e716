"""Who may do what: every URL the project defines, requested as each role, against one table.

`TABLE` is the table in README.md ("Who may do what"), row for row: a page or action, the URL pattern it is
served by, and what each role gets. `test_every_url_the_project_defines_is_in_the_table` walks the URL resolver
and fails for a pattern no row covers, so a new page cannot be added without deciding who may use it (the
admin's own pages are covered by its rows as a whole, and requested as a sample). Each row is then requested as
each role, with its own data, and the answer compared with the table. State-changing actions are also checked
to change nothing on GET and to refuse a POST without a CSRF token.

What a cell says:
  "200", "404", "405", ...   the status of the response
  "→ login"                  a redirect to a page, named in `PAGE_NAMES` ("→ SA page" is the appointment's page)
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils import timezone

from invoicing.models import Invoice, OrganisationDetails, PaymentStatement
from invoicing.services import invoice_credit, invoices_issue, month_end_generate, statements_issue
from sessions_app import roles
from invoicing.services.payment_runs import next_working_day_after, payment_run_create
from sessions_app.models import CancellationReason, Mentor, MentorAssignment, ServiceAppointment
from sessions_app.scheduling import Repeat
from sessions_app.services import bank_details_save, mentor_regenerate_calendar_token, series_book
from tests.factories import (
    PASSWORD,
    AppointmentFactory,
    FundingArrangementFactory,
    MenteeFactory,
    MentorFactory,
    UserFactory,
)

README = Path(__file__).resolve().parent.parent / "README.md"
ROLES = ("anonymous", "owner", "other mentor", "Senior Leadership", "Finance")
ADMIN_PREFIX = "admin/"

# Where a redirect goes, as the table says it.
PAGE_NAMES = {
    "login": "login",
    "admin:login": "admin login",
    "home": "homepage",
    "calendar": "calendar",
    "appointment-detail": "SA page",
    "appointment-wrap-up": "Wrap Up Session",
    "mentor-wrap-up": "mentor's list",
    "mentor-wrap-up-result": "result page",
    "admin:index": "admin",
    "admin:invoicing_month_end": "Month end page",
    "locked-out-accounts": "locked-out accounts",
    "admin:sessions_app_serviceappointment_change": "admin SA page",
    "my-details": "My details",
    "admin:invoicing_paymentrun_change": "payment run",
    "sign-off": "sign-off page",
}


# --------------------------------------------------------------------------- the people and their data


@dataclass
class World:
    owner: Mentor
    other: Mentor
    leader: object
    finance: object
    superuser: object
    arrangement: object
    started: ServiceAppointment  # the owner's, started three hours ago, still to wrap up
    future: ServiceAppointment  # the owner's, in three days
    old_token: str  # the owner's calendar feed address before they asked for a new one
    locked_out: str  # an address locked out after five failed log-ins (the other mentor's)
    documents: dict = field(default_factory=dict)  # "invoice", "credit-note", "statement": issued, with PDFs
    in_series: ServiceAppointment | None = None  # the first of the owner's series (fixture `series`)
    former_mentee: object = None  # a mentee with no session still to come, who may be erased

    def user(self, role):
        return {
            "anonymous": None, "owner": self.owner.user, "other mentor": self.other.user,
            "Senior Leadership": self.leader, "Finance": self.finance, "superuser": self.superuser,
        }[role]


@pytest.fixture
def world(db):
    owner = MentorFactory(user__full_name="Ann Mentor", user__email="ann@example.com")
    other = MentorFactory(user__full_name="Olu Othermentor", user__email="olu@example.com")
    old_token = owner.calendar_token
    mentor_regenerate_calendar_token(mentor=owner)
    mentee = MenteeFactory(full_name="Mo Mentee")
    arrangement = FundingArrangementFactory(mentee=mentee)
    MentorAssignment.objects.create(mentor=owner, mentee=mentee)  # the owner books sessions with Mo Mentee
    now = timezone.now().replace(microsecond=0)
    for _ in range(5):
        Client().post(reverse("login"), {"username": other.user.email, "password": "not-the-password"})
    return World(
        owner=owner,
        other=other,
        leader=UserFactory(full_name="Lee Leader", email="lee@example.com", roles=[roles.SENIOR_LEADERSHIP]),
        finance=UserFactory(full_name="Fay Finance", email="fay@example.com", roles=[roles.FINANCE]),
        superuser=UserFactory(full_name="Sam Super", email="sam@example.com", is_staff=True, is_superuser=True),
        arrangement=arrangement,
        started=AppointmentFactory(mentor=owner, mentee=mentee, starts_at=now - timedelta(hours=3)),
        future=AppointmentFactory(mentor=owner, mentee=mentee, starts_at=now + timedelta(days=3)),
        old_token=old_token,
        locked_out=other.user.email,
        former_mentee=MenteeFactory(full_name="Pat Former"),
    )


@pytest.fixture
def documents(world, settings, tmp_path, django_capture_on_commit_callbacks):
    """The owner's March 2026 sessions, through month end: an invoice (then credited) and a payment statement,
    issued and rendered to PDF."""
    settings.MEDIA_ROOT = tmp_path / "media"
    OrganisationDetails.objects.update_or_create(pk=1, defaults={"issue_automatically": False})
    for day in (3, 10):
        start = timezone.make_aware(datetime(2026, 3, day, 10))
        AppointmentFactory(
            mentor=world.owner, mentee=world.arrangement.mentee, starts_at=start, ends_at=start + timedelta(hours=1),
            status=ServiceAppointment.Status.COMPLETED, outcome=ServiceAppointment.Outcome.ATTENDED,
            funding_arrangement=world.arrangement, wrapped_up_by=world.owner.user,
            wrapped_up_at=start + timedelta(hours=2),
        )
    month_end_generate(year=2026, month=3)
    with django_capture_on_commit_callbacks(execute=True):
        (invoice,) = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)),
                                    acting_user=world.finance, today=date(2026, 3, 31))
        (statement,) = statements_issue(
            statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
            acting_user=world.finance, today=date(2026, 3, 31),
        )
    with django_capture_on_commit_callbacks(execute=True):
        credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=world.finance, reason="Wrong rate.",
                                     today=date(2026, 4, 2))
    for document in (invoice, statement, credit_note):
        document.refresh_from_db()
        assert document.pdf, f"{document} has no PDF"
    world.documents.update({"invoice": invoice, "statement": statement, "credit-note": credit_note})
    return world.documents


@pytest.fixture
def draft_invoice(world):
    """The owner's February 2026 session, through month end: a draft invoice, not issued."""
    OrganisationDetails.objects.update_or_create(pk=1, defaults={"issue_automatically": False})
    start = timezone.make_aware(datetime(2026, 2, 3, 10))
    AppointmentFactory(
        mentor=world.owner, mentee=world.arrangement.mentee, starts_at=start, ends_at=start + timedelta(hours=1),
        status=ServiceAppointment.Status.COMPLETED, outcome=ServiceAppointment.Outcome.ATTENDED,
        funding_arrangement=world.arrangement, wrapped_up_by=world.owner.user, wrapped_up_at=start,
    )
    month_end_generate(year=2026, month=2)
    world.documents["draft"] = Invoice.objects.get(status=Invoice.Status.DRAFT)
    return world.documents["draft"]


@pytest.fixture
def bank_details(world):
    """The owner's bank details, entered on their My details page."""
    return bank_details_save(mentor=world.owner, acting_user=world.owner.user, account_name="Ann Mentor",
                             sort_code="12-34-56", account_number="12345678")


@pytest.fixture
def payment_run(world, bank_details):
    """A payment run, ready to pay, of one approved statement of the owner's."""
    OrganisationDetails.objects.filter(pk=1).update(payer_account_name="Mentoring", payer_sort_code="400102",
                                                    payer_account_number="11223344")
    statement = PaymentStatement.objects.create(
        number="PAY-2026-000099", status=PaymentStatement.Status.APPROVED, mentor=world.owner,
        period_start=date(2026, 3, 1), period_end=date(2026, 3, 31), total=100, issue_date=date(2026, 3, 31))
    world.documents["payment run"] = payment_run_create(
        statement_ids=[statement.pk], acting_user=world.finance,
        payment_date=next_working_day_after(timezone.localdate(), 3))
    return world.documents["payment run"]


def run_url(name, *args):
    return lambda w: reverse(name, args=[w.documents["payment run"].pk, *args])


@pytest.fixture
def series(world):
    """The owner's weekly series of three, from ten days on; `world.in_series` is its first session."""
    start = timezone.localtime() + timedelta(days=10)
    _, booked = series_book(acting_user=world.owner.user, mentor=world.owner, mentee=world.future.mentee,
                            first_day=start.date(), start_time=start.time().replace(hour=10, minute=0, second=0,
                                                                                     microsecond=0),
                            booked_minutes=60, mode="phone", location="", repeat=Repeat(1, count=3))
    world.in_series = booked[0]
    return booked


@pytest.fixture
def cancelled(world):
    """The owner's session in three days, cancelled: its page offers "Book a replacement?"."""
    from sessions_app.services import appointment_cancel

    world.cancelled = appointment_cancel(appointment_id=world.future.pk, acting_user=world.owner.user,
                                         reason=CancellationReason.objects.filter(is_active=True).first(),
                                         internal_note="Exam.", offer_rebooking=True)
    return world.cancelled


def a_free_day(w, days=20):
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def booking_form(w):
    return {"mentor": w.owner.pk, "mentee": w.future.mentee_id, "date": a_free_day(w), "start_time": "08:00",
            "booked_minutes": "60", "mode": "phone", "repeat": "none", "ends": "count", "action": "book"}


def series_form(w):
    return {**booking_form(w), "repeat": "1", "count": "3"}


def admin_clashing_session(w):
    """Finance adds a session for the owner at the time of their session in three days."""
    start, end = timezone.localtime(w.future.starts_at), timezone.localtime(w.future.ends_at)
    return {"mentor": w.owner.pk, "mentee": w.former_mentee.pk, "starts_at_0": f"{start:%Y-%m-%d}",
            "starts_at_1": f"{start:%H:%M:%S}", "ends_at_0": f"{end:%Y-%m-%d}", "ends_at_1": f"{end:%H:%M:%S}",
            "mode": "phone", "location": "", "_save": "Save"}


# --------------------------------------------------------------------------- how each row is requested


def get(url: Callable):
    def request(client, w):
        return client.get(url(w))
    return request


def post(url: Callable, data: Callable = lambda w: {}):
    def request(client, w):
        return client.post(url(w), data(w))
    return request


def steps(url: Callable, *answers: Callable):
    """POST each step of a wizard in turn; the answer is the first response that does not show a next step."""
    def request(client, w):
        response = None
        for answer in answers:
            response = client.post(url(w), answer(w))
            if response.status_code != 200:
                return response
        return response
    return request


def sa(name, which="started"):
    return lambda w: reverse(name, args=[getattr(w, which).reference])


def wrap_up_step(step, **fields):
    return lambda w: {f"wrap_up_{w.started.reference}-current_step": step,
                      **{f"{step}-{k}": v(w) if callable(v) else v for k, v in fields.items()}}


def cancel_step(step, **fields):
    return lambda w: {f"cancel_{w.future.reference}-current_step": step,
                      **{f"{step}-{k}": v(w) if callable(v) else v for k, v in fields.items()}}


def a_reason(w):
    return CancellationReason.objects.filter(is_active=True).order_by("order").first().pk


def document(kind):
    return lambda w: reverse("document-pdf", kwargs={"kind": kind, "pk": w.documents[kind].pk})


@pytest.fixture
def wrapped_up(world):
    """The owner's session of three days ago, wrapped up (attended, funded), not yet invoiced."""
    from sessions_app.services import WrapUp, appointment_wrap_up

    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    appointment = AppointmentFactory(mentor=world.owner, mentee=world.arrangement.mentee, starts_at=start)
    world.wrapped_up = appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=world.owner.user,
        answers=WrapUp(outcome="attended", funding_arrangement=world.arrangement, session_notes="Went well."))
    return world.wrapped_up


@pytest.fixture
def sign_off_links(world, wrapped_up):
    """The mentee's links for the wrapped-up session: valid, expired (signed longer ago than the links last), for a
    session already confirmed, and tampered with."""
    import time

    from django.core import signing

    from sessions_app.services.sign_off import SALT, sign_off_answer, sign_off_token

    sign_off = wrapped_up.sign_off

    class LongAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - (settings_days() + 1) * 86400)

    valid = sign_off_token(sign_off)
    confirmed = AppointmentFactory(mentor=world.owner, mentee=world.arrangement.mentee,
                                   starts_at=wrapped_up.starts_at - timedelta(days=1))
    from sessions_app.services import WrapUp, appointment_wrap_up

    confirmed = appointment_wrap_up(appointment_id=confirmed.pk, acting_user=world.owner.user,
                                    answers=WrapUp(outcome="attended", funding_arrangement=world.arrangement))
    sign_off_answer(sign_off_id=confirmed.sign_off.pk, link_key=confirmed.sign_off.link_key, confirmed=True)
    world.sign_off_links = {
        "valid": valid,
        "expired": LongAgo(salt=SALT).sign_object([sign_off.pk, sign_off.link_key]),
        "answered": sign_off_token(confirmed.sign_off),
        "tampered": valid[:-1] + ("A" if valid[-1] != "A" else "B"),
    }
    return world.sign_off_links


def settings_days():
    from django.conf import settings

    return settings.SIGN_OFF_LINK_DAYS


def sign_off_link(which):
    return lambda w: reverse("sign-off", args=[w.sign_off_links[which]])


def admin_sa(name):
    return lambda w: reverse(f"admin:sessions_app_serviceappointment_{name}", args=[w.wrapped_up.pk])


def admin_mentor_action(w):
    return {"action": "regenerate_calendar_token", "_selected_action": [w.owner.pk], "index": 0}


def personal_data(action, **fields):
    return lambda w: {"action": action, "_selected_action": [w.former_mentee.pk], "index": 0, **fields}


def mentor_list(w):
    return reverse("mentor-wrap-up", args=[w.owner.pk])


@dataclass
class Row:
    route: str  # the URL pattern, as the resolver spells it
    request: Callable  # (client, world) -> response
    cells: tuple  # what each role in ROLES gets
    changes_data: bool = False  # a state-changing action: GET must change nothing, POST needs the CSRF token
    needs: tuple = ()  # fixtures the row's data needs beyond `world`
    csrf_role: str = "owner"  # who may do it, for the CSRF check


def cells(*values):
    assert len(values) == len(ROLES)
    return values


LOGIN, ADMIN_LOGIN, SA_PAGE = "→ login", "→ admin login", "→ SA page"

# The table in README.md, "Who may do what", row for row.
TABLE: dict[str, Row] = {
    # ---- log-in, log-out, health check
    "Log-in page": Row(
        "accounts/login/", get(lambda w: reverse("login")),
        cells("200", "→ homepage", "→ homepage", "→ homepage", "→ homepage")),
    "Log out (POST)": Row(
        "accounts/logout/", post(lambda w: reverse("logout")),
        cells(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN), changes_data=True),
    "Log out by GET": Row(
        "accounts/logout/", get(lambda w: reverse("logout")),
        cells("405", "405", "405", "405", "405")),
    "Health check": Row(
        "healthz", get(lambda w: reverse("healthz")),
        cells("200", "200", "200", "200", "200")),
    # ---- pages of one's own
    "Homepage": Row(
        "", get(lambda w: reverse("home")),
        cells(LOGIN, "200", "200", "200", "200")),
    "Dashboard": Row(
        "dashboard/", get(lambda w: reverse("dashboard")),
        cells(LOGIN, "200", "200", "200", "200")),
    "Calendar": Row(
        "calendar/", get(lambda w: reverse("calendar")),
        cells(LOGIN, "200", "200", "200", "200")),
    "Calendar, another month": Row(
        "calendar/<int:year>/<int:month>/", get(lambda w: reverse("calendar-month", args=[2026, 2])),
        cells(LOGIN, "200", "200", "200", "200")),
    "Calendar feed, the owner's address (no log-in: the address is the key)": Row(
        "calendar/feed/<str:token>.ics", get(lambda w: reverse("calendar-feed", args=[w.owner.calendar_token])),
        cells("200", "200", "200", "200", "200")),
    "Calendar feed, an address replaced by a new one": Row(
        "calendar/feed/<str:token>.ics", get(lambda w: reverse("calendar-feed", args=[w.old_token])),
        cells("404", "404", "404", "404", "404")),
    "Calendar feed: make a new address (POST; one's own)": Row(
        "calendar/feed/new-address/", post(lambda w: reverse("calendar-feed-new-address")),
        cells(LOGIN, "→ calendar", "→ calendar", "404", "404"), changes_data=True),
    "Calendar feed: make a new address by GET": Row(
        "calendar/feed/new-address/", get(lambda w: reverse("calendar-feed-new-address")),
        cells(LOGIN, "405", "405", "405", "405")),
    # ---- the owner's Service Appointment
    "SA page": Row(
        "appointments/<str:reference>/", get(sa("appointment-detail")),
        cells(LOGIN, "200", "404", "200", "200")),
    "Wrap Up Session, a session that has started": Row(
        "appointments/<str:reference>/wrap-up/", get(sa("appointment-wrap-up")),
        cells(LOGIN, "200", "404", "200", "200")),
    "Wrap Up Session: every step submitted (POST)": Row(
        "appointments/<str:reference>/wrap-up/",
        steps(sa("appointment-wrap-up"),
              wrap_up_step("outcome", outcome="attended"),
              wrap_up_step("funding", funding=lambda w: str(w.arrangement.pk)),
              wrap_up_step("notes", session_notes="Essay planning.", actual_minutes="60"),
              wrap_up_step("review", admin_details="")),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE), changes_data=True),
    "Wrap Up Session, a session that has not started": Row(
        "appointments/<str:reference>/wrap-up/", get(sa("appointment-wrap-up", "future")),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE)),
    "Cancel Session, a session that has not started": Row(
        "appointments/<str:reference>/cancel/", get(sa("appointment-cancel", "future")),
        cells(LOGIN, "200", "404", "200", "200")),
    "Cancel Session: every step submitted (POST)": Row(
        "appointments/<str:reference>/cancel/",
        steps(sa("appointment-cancel", "future"),
              cancel_step("reason", reason=a_reason, internal_note="Clash with an exam."),
              cancel_step("confirm")),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE), changes_data=True),
    "Cancel Session, a session that has started": Row(
        "appointments/<str:reference>/cancel/", get(sa("appointment-cancel")),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE)),
    # ---- scheduling: book, move, a series from one session on
    "Book a session (own assigned mentees; Senior Leadership and Finance: anyone's)": Row(
        "sessions/book/", get(lambda w: reverse("session-book")),
        cells(LOGIN, "200", "200", "200", "200")),
    "Book a session: booked (POST), the owner's mentee": Row(
        "sessions/book/", post(lambda w: reverse("session-book"), booking_form),
        cells(LOGIN, SA_PAGE, "200", SA_PAGE, SA_PAGE), changes_data=True),
    "Book a session: a weekly series booked (POST), the owner's mentee": Row(
        "sessions/book/", post(lambda w: reverse("session-book"), series_form),
        cells(LOGIN, SA_PAGE, "200", SA_PAGE, SA_PAGE), changes_data=True),
    "Book a session: Check (POST), the sessions shown before booking": Row(
        "sessions/book/", post(lambda w: reverse("session-book"), lambda w: {**series_form(w), "action": "preview"}),
        cells(LOGIN, "200", "200", "200", "200")),
    "Book a replacement? (a cancelled session's form, prefilled for those who may change it)": Row(
        "sessions/book/", get(lambda w: reverse("session-book") + f"?replaces={w.cancelled.reference}"),
        cells(LOGIN, "200", "200", "200", "200"), needs=("cancelled",)),
    "Book a replacement: booked (POST)": Row(
        "sessions/book/",
        post(lambda w: reverse("session-book"), lambda w: {**booking_form(w), "replaces": w.cancelled.reference}),
        cells(LOGIN, SA_PAGE, "200", SA_PAGE, SA_PAGE), changes_data=True, needs=("cancelled",)),
    "My mentees (a mentor's assigned mentees; Senior Leadership and Finance: every active mentee)": Row(
        "mentees/", get(lambda w: reverse("mentee-list")),
        cells(LOGIN, "200", "200", "200", "200")),
    "A mentee's page (a mentor: only a mentee assigned to them)": Row(
        "mentees/<int:mentee_id>/", get(lambda w: reverse("mentee-detail", args=[w.future.mentee_id])),
        cells(LOGIN, "200", "404", "200", "200")),
    "A mentee's page, a mentee that does not exist": Row(
        "mentees/<int:mentee_id>/", get(lambda w: reverse("mentee-detail", args=[999999])),
        cells(LOGIN, "404", "404", "404", "404")),
    "Move a session that has not started": Row(
        "appointments/<str:reference>/move/", get(sa("appointment-move", "future")),
        cells(LOGIN, "200", "404", "200", "200")),
    "Move a session: moved (POST)": Row(
        "appointments/<str:reference>/move/",
        post(sa("appointment-move", "future"),
             lambda w: {"date": a_free_day(w, 21), "start_time": "08:00", "booked_minutes": "60"}),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE), changes_data=True),
    "Move a session that has started": Row(
        "appointments/<str:reference>/move/", get(sa("appointment-move")),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE)),
    "This and all following sessions of a series": Row(
        "appointments/<str:reference>/series/", get(sa("appointment-series", "in_series")),
        cells(LOGIN, "200", "404", "200", "200"), needs=("series",)),
    "This and all following: changed (POST)": Row(
        "appointments/<str:reference>/series/",
        post(sa("appointment-series", "in_series"),
             lambda w: {"action": "change", "change-start_time": "07:00", "change-booked_minutes": "45",
                        "change-mode": "phone"}),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE), changes_data=True, needs=("series",)),
    "This and all following: cancelled (POST)": Row(
        "appointments/<str:reference>/series/",
        post(sa("appointment-series", "in_series"),
             lambda w: {"action": "cancel", "cancel-reason": a_reason(w), "cancel-internal_note": "Moving away."}),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE), changes_data=True, needs=("series",)),
    "This and all following, a session not in a series": Row(
        "appointments/<str:reference>/series/", get(sa("appointment-series", "future")),
        cells(LOGIN, "404", "404", "404", "404")),
    "Ticket to Finance about a session": Row(
        "appointments/<str:reference>/ticket/", get(sa("appointment-ticket")),
        cells(LOGIN, "200", "404", "200", "200")),
    "Ticket to Finance: sent (POST)": Row(
        "appointments/<str:reference>/ticket/",
        post(sa("appointment-ticket"), lambda w: {"subject": "Which funding?", "message": "Two POs."}),
        cells(LOGIN, SA_PAGE, "404", SA_PAGE, SA_PAGE), changes_data=True),
    # ---- the mentee's sign-off: no log-in, the signed link is the key, for that one session, once
    "Mentee's sign-off, a valid link (no log-in: the link is the key, for its one session)": Row(
        "sign-off/<str:token>/", get(sign_off_link("valid")),
        cells("200", "200", "200", "200", "200"), needs=("sign_off_links",)),
    "Mentee's sign-off: confirmed or disputed (POST), once": Row(
        "sign-off/<str:token>/", post(sign_off_link("valid"), lambda w: {"answer": "confirm"}),
        cells("→ sign-off page", "→ sign-off page", "→ sign-off page", "→ sign-off page", "→ sign-off page"),
        changes_data=True, needs=("sign_off_links",), csrf_role="anonymous"),
    "Mentee's sign-off, a link already used (says how and when it was answered)": Row(
        "sign-off/<str:token>/", post(sign_off_link("answered"), lambda w: {"answer": "dispute"}),
        cells("200", "200", "200", "200", "200"), needs=("sign_off_links",)),
    "Mentee's sign-off, an expired link": Row(
        "sign-off/<str:token>/", get(sign_off_link("expired")),
        cells("410", "410", "410", "410", "410"), needs=("sign_off_links",)),
    "Mentee's sign-off, a tampered or unknown link": Row(
        "sign-off/<str:token>/", get(sign_off_link("tampered")),
        cells("404", "404", "404", "404", "404"), needs=("sign_off_links",)),
    # ---- correcting a wrap-up: Senior Leadership the outcome and notes here, Finance everything in the admin
    "Correct outcome or notes, a wrapped-up session": Row(
        "appointments/<str:reference>/correct/", get(sa("appointment-correct", "wrapped_up")),
        cells(LOGIN, "404", "404", "200", "200"), needs=("wrapped_up",)),
    "Correct outcome or notes: submitted (POST)": Row(
        "appointments/<str:reference>/correct/",
        post(sa("appointment-correct", "wrapped_up"),
             lambda w: {"outcome": "did_not_attend", "session_notes": "No show.", "reason": "Wrong outcome."}),
        cells(LOGIN, "404", "404", SA_PAGE, SA_PAGE), changes_data=True, needs=("wrapped_up",),
        csrf_role="Senior Leadership"),
    "Correct outcome or notes, a session not wrapped up": Row(
        "appointments/<str:reference>/correct/", get(sa("appointment-correct")),
        cells(LOGIN, "404", "404", SA_PAGE, SA_PAGE)),
    # ---- Senior Leadership wrap up for a mentor; mentors ask them to
    "A mentor's sessions to wrap up (Senior Leadership's list)": Row(
        "mentors/<int:mentor_id>/wrap-up/", get(mentor_list),
        cells(LOGIN, "404", "404", "200", "200")),
    "A mentor's sessions: statuses submitted (POST)": Row(
        "mentors/<int:mentor_id>/wrap-up/",
        post(mentor_list, lambda w: {f"outcome_{w.started.pk}": "attended", f"notes_{w.started.pk}": "Done."}),
        cells(LOGIN, "404", "404", "→ result page", "→ result page"), changes_data=True,
        csrf_role="Senior Leadership"),
    "A mentor's sessions: the result of a batch": Row(
        "mentors/<int:mentor_id>/wrap-up/done/", get(lambda w: reverse("mentor-wrap-up-result", args=[w.owner.pk])),
        cells(LOGIN, "404", "404", "→ mentor's list", "→ mentor's list")),
    "Wrap-up request to Senior Leadership (one's own)": Row(
        "wrap-up-request/", get(lambda w: reverse("wrap-up-request")),
        cells(LOGIN, "200", "200", "404", "404")),
    "Wrap-up request: sent (POST), for the owner's session": Row(
        "wrap-up-request/",
        post(lambda w: reverse("wrap-up-request"),
             lambda w: {f"outcome_{w.started.pk}": "attended", "message": "Ill."}),
        cells(LOGIN, "→ homepage", "200", "404", "404"), changes_data=True),
    # ---- Senior Leadership (and Finance) unlock accounts locked out after failed log-ins
    "Locked-out accounts": Row(
        "accounts/locked-out/", get(lambda w: reverse("locked-out-accounts")),
        cells(LOGIN, "404", "404", "200", "200")),
    "Locked-out accounts: unlock one (POST)": Row(
        "accounts/locked-out/unlock/", post(lambda w: reverse("unlock-account"), lambda w: {"email": w.locked_out}),
        cells(LOGIN, "404", "404", "→ locked-out accounts", "→ locked-out accounts"), changes_data=True,
        csrf_role="Senior Leadership"),
    "Locked-out accounts: unlock by GET": Row(
        "accounts/locked-out/unlock/", get(lambda w: reverse("unlock-account")),
        cells(LOGIN, "405", "405", "405", "405")),
    # ---- documents
    "Payment statement PDF, the owner's": Row(
        "documents/<str:kind>/<int:pk>.pdf", get(document("statement")),
        cells(LOGIN, "200", "404", "404", "200"), needs=("documents",)),
    "Invoice PDF": Row(
        "documents/<str:kind>/<int:pk>.pdf", get(document("invoice")),
        cells(LOGIN, "404", "404", "404", "200"), needs=("documents",)),
    "Credit note PDF": Row(
        "documents/<str:kind>/<int:pk>.pdf", get(document("credit-note")),
        cells(LOGIN, "404", "404", "404", "200"), needs=("documents",)),
    "Timesheet PDF, a funded arrangement's month": Row(
        "documents/timesheet/<int:arrangement_id>/<int:year>-<int:month>.pdf",
        get(lambda w: reverse("timesheet-pdf", kwargs={"arrangement_id": w.arrangement.pk, "year": 2026, "month": 3})),
        cells(LOGIN, "404", "404", "404", "200")),
    # ---- a mentor's own details: address and bank details
    "My details (one's own address and bank details)": Row(
        "my-details/", get(lambda w: reverse("my-details")),
        cells(LOGIN, "200", "200", "404", "404")),
    "My details: saved (POST)": Row(
        "my-details/",
        post(lambda w: reverse("my-details"), lambda w: {"address": "1 Road", "account_name": "Ann Mentor",
                                                         "sort_code": "12-34-56", "account_number": "12345678"}),
        cells(LOGIN, "→ My details", "→ My details", "404", "404"), changes_data=True),
    # ---- the Finance admin (every page under /admin/; these rows are the sample requested)
    "Admin log-in page": Row(
        "admin/login/", get(lambda w: reverse("admin:login")),
        cells("200", "200", "200", "200", "→ admin")),
    "Admin: home": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:index")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: Finance queue": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:finance_queue")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: a Service Appointment": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:sessions_app_serviceappointment_change", args=[w.started.pk])),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: add a Service Appointment": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:sessions_app_serviceappointment_add")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: add a Service Appointment that clashes (POST): the form says with what": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:sessions_app_serviceappointment_add"), admin_clashing_session),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: mentees assigned to mentors": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:sessions_app_mentorassignment_changelist")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: assign a mentee to a mentor (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:sessions_app_mentorassignment_add"),
                           lambda w: {"mentor": w.other.pk, "mentee": w.future.mentee_id, "_save": "Save"}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin list"), changes_data=True,
        csrf_role="Finance"),
    "Admin: Month end page, a month": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_month_end") + "?month=2026-03"),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("documents",)),
    "Admin: Month end, run it (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_month_end_run"), lambda w: {"month": "2026-03"}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ Month end page"), changes_data=True,
        csrf_role="Finance", needs=("documents",)),
    "Admin: Close a month, the confirmation": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_month_close") + "?month=2026-03"),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("documents",)),
    "Admin: Close a month (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_month_close"),
                           lambda w: {"month": "2026-03", "reason": "Filed."}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ Month end page"), changes_data=True,
        csrf_role="Finance", needs=("documents",)),
    "Admin: Issue selected invoices, the confirmation (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_invoice_changelist"),
                           lambda w: {"action": "issue_selected", "_selected_action": [w.documents["draft"].pk]}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("draft_invoice",)),
    "Admin: Issue selected invoices, confirmed (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_invoice_changelist"),
                           lambda w: {"action": "issue_selected", "post": "yes", "index": "0", "select_across": "1",
                                      "ids": str(w.documents["draft"].pk), "_selected_action": w.documents["draft"].pk,
                                      "confirm": hashlib.sha256(str(w.documents["draft"].pk).encode()).hexdigest()}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin list"), changes_data=True,
        csrf_role="Finance", needs=("draft_invoice",)),
    "Admin: Issue selected payment statements, the confirmation (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_paymentstatement_changelist"),
                           lambda w: {"action": "issue_selected",
                                      "_selected_action": list(PaymentStatement.objects.values_list("pk", flat=True))}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("draft_invoice",)),
    "Admin: a draft invoice's Issue page": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_invoice_issue", args=[w.documents["draft"].pk])),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("draft_invoice",)),
    "Admin: a draft invoice's PDF preview": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_invoice_preview_pdf", args=[w.documents["draft"].pk])),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("draft_invoice",)),
    "Admin: correct a wrap-up": Row(
        ADMIN_PREFIX, get(admin_sa("correct_wrap_up")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("wrapped_up",)),
    "Admin: correct a wrap-up, submitted (POST)": Row(
        ADMIN_PREFIX, post(admin_sa("correct_wrap_up"),
                           lambda w: {"outcome": "attended", "funding_arrangement": w.arrangement.pk,
                                      "actual_minutes": "45", "session_notes": "Went well.", "reason": "45 min."}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin SA page"), changes_data=True,
        needs=("wrapped_up",), csrf_role="Finance"),
    "Admin: record a mentee's sign-off received on paper": Row(
        ADMIN_PREFIX, get(admin_sa("paper_sign_off")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("wrapped_up",)),
    "Admin: record a mentee's sign-off received on paper, submitted (POST)": Row(
        ADMIN_PREFIX, post(admin_sa("paper_sign_off"), lambda w: {"answer": "confirm", "reason": "Signed timesheet."}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin SA page"), changes_data=True,
        needs=("wrapped_up",), csrf_role="Finance"),
    "Admin: reopen a session": Row(
        ADMIN_PREFIX, get(admin_sa("reopen")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("wrapped_up",)),
    "Admin: reopen a session, confirmed (POST)": Row(
        ADMIN_PREFIX, post(admin_sa("reopen"), lambda w: {"reason": "Wrong session."}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin SA page"), changes_data=True,
        needs=("wrapped_up",), csrf_role="Finance"),
    "Admin: a mentor's bank details (in full with `view_bank_details`, recorded)": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:sessions_app_mentorbankdetails_change",
                                            args=[w.owner.bank_details.pk])),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("bank_details",)),
    "Admin: a new payment run (confirmation page)": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_paymentrun_add")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: a payment run's Bacs file (with `view_bank_details`, recorded)": Row(
        ADMIN_PREFIX, get(run_url("admin:invoicing_paymentrun_file", "bacs")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("payment_run",)),
    "Admin: mark a payment run paid (POST)": Row(
        ADMIN_PREFIX, post(run_url("admin:invoicing_paymentrun_mark_paid")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ payment run"), changes_data=True,
        needs=("payment_run",), csrf_role="Finance"),
    "Admin: mark a payment run paid, the confirmation": Row(
        ADMIN_PREFIX, get(run_url("admin:invoicing_paymentrun_mark_paid")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("payment_run",)),
    "Admin: a payment run's bulk-payment CSV (with `view_bank_details`, recorded)": Row(
        ADMIN_PREFIX, get(run_url("admin:invoicing_paymentrun_file", "csv")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("payment_run",)),
    "Admin: cancel a payment run, the confirmation": Row(
        ADMIN_PREFIX, get(run_url("admin:invoicing_paymentrun_cancel")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("payment_run",)),
    "Admin: cancel a payment run, with a reason (POST)": Row(
        ADMIN_PREFIX, post(run_url("admin:invoicing_paymentrun_cancel"), lambda w: {"reason": "The bank rejected it."}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ payment run"), changes_data=True,
        needs=("payment_run",), csrf_role="Finance"),
    "Admin: Approve selected payment statements for payment (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_paymentstatement_changelist"),
                           lambda w: {"action": "approve", "index": "0",
                                      "_selected_action": [w.documents["statement"].pk]}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin list"), changes_data=True,
        needs=("documents",), csrf_role="Finance"),
    "Admin: export selected invoices for Xero's import (POST, an action)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_invoice_changelist"),
                           lambda w: {"action": "export_xero", "index": "0",
                                      "_selected_action": [w.documents["invoice"].pk]}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("documents",)),
    "Admin: export selected credit notes for QuickBooks Online's import (POST, an action)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:invoicing_creditnote_changelist"),
                           lambda w: {"action": "export_quickbooks", "index": "0",
                                      "_selected_action": [w.documents["credit-note"].pk]}),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), needs=("documents",)),
    "Admin: funders' missed-session rules": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_missedsessionrule_changelist")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: terms": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:invoicing_term_add")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: a funding arrangement (with its timesheets)": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:sessions_app_fundingarrangement_change", args=[w.arrangement.pk])),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: funding arrangements, nearly used up": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:sessions_app_fundingarrangement_changelist") + "?hours=nearly_used_up"),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
    "Admin: an action, a mentor's new feed address (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:sessions_app_mentor_changelist"), admin_mentor_action),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin list"), changes_data=True,
        csrf_role="Finance"),
    "Admin: export a mentee's personal data (POST, an action)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:sessions_app_mentee_changelist"), personal_data("export_personal_data")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), changes_data=True, csrf_role="Finance"),
    "Admin: erase a mentee, the confirmation page (POST, an action)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:sessions_app_mentee_changelist"), personal_data("erase_person")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200"), changes_data=True, csrf_role="Finance"),
    "Admin: erase a mentee, confirmed with a reason (POST)": Row(
        ADMIN_PREFIX, post(lambda w: reverse("admin:sessions_app_mentee_changelist"),
                           personal_data("erase_person", confirm_erasure="yes", reason="Request DP-1")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "→ admin list"), changes_data=True,
        csrf_role="Finance"),
    "Admin: internal notes withheld from exports": Row(
        ADMIN_PREFIX, get(lambda w: reverse("admin:privacy_withheldnote_changelist")),
        cells(ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, "200")),
}

# Log-in itself changes data (it starts a session), so it is checked for CSRF too, but it is not a table row.
LOG_IN = Row("accounts/login/", post(lambda w: reverse("login"),
                                     lambda w: {"username": w.owner.user.email, "password": PASSWORD}),
             cells(*["-"] * 5), changes_data=True, csrf_role="anonymous")


# --------------------------------------------------------------------------- asking and describing the answer


def client_for(world, role, **kwargs) -> Client:
    client = Client(**kwargs)
    user = world.user(role)
    if user is not None:
        client.force_login(user)
    return client


def answer(response) -> str:
    """What the table says for this response: its status, or "→ page" for a redirect."""
    if response.status_code not in (301, 302, 303):
        return str(response.status_code)
    path = urlsplit(response["Location"]).path
    try:
        match = resolve(path)
    except Resolver404:
        return f"→ {path}"
    name = match.view_name
    if name.startswith("admin:") and name.endswith("_changelist"):
        return "→ admin list"
    return f"→ {PAGE_NAMES.get(name, name)}"


def ask(world, row: Row, role: str, **client_kwargs):
    """Row's request as `role`, in a transaction rolled back afterwards, so every role meets the same data."""
    with transaction.atomic():
        response = row.request(client_for(world, role, **client_kwargs), world)
        transaction.set_rollback(True)
    return response


def snapshot() -> dict:
    """Every row of every table but the sessions' (where wizards and messages keep their state)."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model is not Session
    }


# --------------------------------------------------------------------------- every URL is in the table


def routes(patterns=None, prefix=""):
    """Every URL pattern the project defines, as "prefix/route" strings, walking includes."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


def test_every_url_the_project_defines_is_in_the_table():
    covered = {row.route for row in TABLE.values()}
    defined = set(routes())
    missing = sorted(route for route in defined if route not in covered and not route.startswith(ADMIN_PREFIX))
    assert not missing, (
        f"These URLs are not in the access table (tests/test_access_matrix.py TABLE, and README.md "
        f"'Who may do what'): {missing}. Decide who may use them and add a row."
    )
    gone = sorted(route for route in covered if route not in defined and route != ADMIN_PREFIX)
    assert not gone, f"The table has rows for URLs that no longer exist: {gone}"


def test_the_readme_table_is_this_table():
    text = README.read_text()
    section = text.split("## Who may do what", 1)[1].split("\n## ", 1)[0]
    lines = section.split("\n\n|", 1)[1].split("\n\n", 1)[0].splitlines()  # the section's first table
    lines[0] = "|" + lines[0]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header[1:] == list(ROLES), header
    readme = {}
    for line in lines[2:]:
        label, *values = (cell.strip() for cell in line.strip("|").split("|"))
        readme[label] = tuple(values)
    assert readme == {label: row.cells for label, row in TABLE.items()}


# --------------------------------------------------------------------------- every row, as every role


@pytest.mark.parametrize("label", list(TABLE))
def test_each_role_gets_what_the_table_says(label, world, request):
    row = TABLE[label]
    for fixture in row.needs:
        request.getfixturevalue(fixture)
    got = {role: answer(ask(world, row, role)) for role in ROLES}
    assert got == dict(zip(ROLES, row.cells)), f"{label}: the table says {row.cells}"


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


@pytest.mark.parametrize("label", [label for label, row in TABLE.items() if not row.route.startswith(ADMIN_PREFIX)])
def test_our_pages_have_no_inline_script_or_style_for_the_content_security_policy_to_block(label, world, request):
    row = TABLE[label]
    for fixture in row.needs:
        request.getfixturevalue(fixture)
    for role in ROLES:
        response = ask(world, row, role)
        if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
            html = response.content.decode()
            assert not INLINE.search(html), f"{label} as {role}: {INLINE.search(html).group(0)}"


# --------------------------------------------------------------------------- the admin is Finance's


def admin_list_urls():
    for model in admin.site._registry:
        yield reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_admin_list_sends_everyone_but_finance_and_superusers_to_the_admin_log_in(world):
    urls = sorted(admin_list_urls())
    assert len(urls) > 10
    for role in ("anonymous", "owner", "other mentor", "Senior Leadership"):
        client = client_for(world, role)
        for url in urls:
            assert answer(client.get(url)) == ADMIN_LOGIN, f"{role} at {url}"
    finance, superuser = client_for(world, "Finance"), client_for(world, "superuser")
    for url in urls:
        assert finance.get(url).status_code in (200, 302, 403), url  # 403: a list Finance has no permission for
        assert superuser.get(url).status_code in (200, 302), url  # 302: a one-row list opens the row
    assert superuser.get(reverse("admin:index")).status_code == 200
    assert superuser.get(reverse("admin:finance_queue")).status_code == 200


def test_the_admin_action_changes_the_mentors_address_only_for_finance(world):
    row = TABLE["Admin: an action, a mentor's new feed address (POST)"]
    token = world.owner.calendar_token
    for role in ("anonymous", "owner", "other mentor", "Senior Leadership"):
        row.request(client_for(world, role), world)
        world.owner.refresh_from_db()
        assert world.owner.calendar_token == token, role
    row.request(client_for(world, "Finance"), world)
    world.owner.refresh_from_db()
    assert world.owner.calendar_token != token


def test_only_senior_leadership_and_finance_unlock_an_account(world):
    from axes.models import AccessAttempt

    row = TABLE["Locked-out accounts: unlock one (POST)"]
    locked = set(AccessAttempt.objects.filter(username=world.locked_out).values_list("pk", flat=True))
    assert locked
    for role in ("anonymous", "owner", "other mentor"):
        row.request(client_for(world, role), world)
        assert set(AccessAttempt.objects.filter(username=world.locked_out).values_list("pk", flat=True)) == locked
    for role in ("Senior Leadership", "Finance"):
        with transaction.atomic():
            row.request(client_for(world, role), world)
            assert not AccessAttempt.objects.filter(username=world.locked_out).exists(), role
            transaction.set_rollback(True)


# --------------------------------------------------------------------------- feeds, and who sees their address


def test_a_mentors_feed_address_is_shown_to_them_only(world):
    token = world.owner.calendar_token
    pages = [reverse("home"), reverse("dashboard"), reverse("calendar"),
             f"{reverse('calendar')}?mentor={world.owner.pk}"]
    for role in ROLES[1:]:
        client = client_for(world, role)
        shown = any(token in client.get(page).content.decode() for page in pages)
        assert shown is (role == "owner"), role


def test_the_feed_shows_no_other_mentors_sessions(world):
    theirs = AppointmentFactory(mentor=world.other, starts_at=timezone.now() + timedelta(days=1))
    body = Client().get(reverse("calendar-feed", args=[world.owner.calendar_token])).content.decode()
    assert world.future.reference in body
    assert theirs.reference not in body


# --------------------------------------------------------------------------- state changes: POST, with CSRF

STATE_CHANGING = {label: row for label, row in TABLE.items() if row.changes_data} | {"Log in (POST)": LOG_IN}


def test_every_state_changing_view_is_checked():
    """Wizards, ticket, wrap-up request, bulk wrap-up, new feed address, unlocking an account, log-in, log-out, an
    admin action."""
    assert {row.route for row in STATE_CHANGING.values()} == {
        "accounts/login/", "accounts/logout/", "calendar/feed/new-address/", "appointments/<str:reference>/wrap-up/",
        "appointments/<str:reference>/cancel/", "appointments/<str:reference>/ticket/",
        "mentors/<int:mentor_id>/wrap-up/", "wrap-up-request/", "accounts/locked-out/unlock/", ADMIN_PREFIX,
        "appointments/<str:reference>/correct/",
        "my-details/",
        "sessions/book/", "appointments/<str:reference>/move/", "appointments/<str:reference>/series/",
        "sign-off/<str:token>/",
    }


def as_get(row: Row):
    """The same URL as the row's POST, by GET."""
    def request(client, w):
        original = client.post
        client.post = lambda url, data=None, **kwargs: client.get(url)
        try:
            return row.request(client, w)
        finally:
            client.post = original
    return request


@pytest.mark.parametrize("label", list(STATE_CHANGING))
def test_get_changes_nothing(label, world, request):
    row = STATE_CHANGING[label]
    for fixture in row.needs:
        request.getfixturevalue(fixture)
    get_row = Row(row.route, as_get(row), row.cells)
    for role in ROLES:
        client = client_for(world, role)
        before = snapshot()  # after logging in, which records the log-in
        response = get_row.request(client, world)
        assert snapshot() == before, f"GET {label} as {role} changed data ({response.status_code})"


@pytest.mark.parametrize("label", list(STATE_CHANGING))
def test_post_without_the_csrf_token_is_refused_and_changes_nothing(label, world, request):
    row = STATE_CHANGING[label]
    for fixture in row.needs:
        request.getfixturevalue(fixture)
    client = client_for(world, row.csrf_role, enforce_csrf_checks=True)
    before = snapshot()
    response = row.request(client, world)
    assert response.status_code == 403, f"{label}: {answer(response)}"
    assert b"CSRF" in response.content
    assert snapshot() == before


@pytest.mark.parametrize("label", list(STATE_CHANGING))
def test_post_with_the_csrf_token_is_accepted(label, world, request):
    row = STATE_CHANGING[label]
    for fixture in row.needs:
        request.getfixturevalue(fixture)
    client = client_for(world, row.csrf_role, enforce_csrf_checks=True)
    client.get(reverse("home"), follow=True)  # a page with a form (log-in, or log-out) sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    original = client.post
    client.post = lambda url, data=None, **kwargs: original(url, {**(data or {}), "csrfmiddlewaretoken": token})
    response = row.request(client, world)
    assert response.status_code in (200, 302), f"{label}: {answer(response)}"
    if label in TABLE:
        assert answer(response) == dict(zip(ROLES, row.cells))[row.csrf_role]


# --------------------------------------------------------------------------- every admin POST needs the CSRF token


def admin_urls(world) -> list[str]:
    """Every URL the admin serves, built from its patterns: each model's pages (list, add, a real row's change,
    delete and history pages, and custom views such as crediting an invoice or completing a wrap-up) and the
    site's own (index, Finance queue, password change, log-out...)."""
    models_by_prefix = {f"{model._meta.app_label}_{model._meta.model_name}_": model for model in admin.site._registry}
    urls = set()

    def url_for(pattern) -> str:
        model = next((m for prefix, m in models_by_prefix.items() if pattern.name.startswith(prefix)), None)
        row = model._default_manager.order_by("pk").first() if model else None
        pk = row.pk if row else 1
        regex = pattern.pattern.regex
        if not regex.groupindex:  # unnamed groups: a row and, for simple-history, one of its versions
            return reverse(f"admin:{pattern.name}", args=[pk] * regex.groups)
        values = {"object_id": str(pk), "pk": pk, "app_label": "invoicing", "content_type_id": 1}
        return reverse(f"admin:{pattern.name}", kwargs={key: values.get(key, pk) for key in regex.groupindex})

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif pattern.name:
                urls.add(url_for(pattern))

    walk(admin.site.get_urls())
    return sorted(urls)


def admin_actions() -> list[tuple[str, str, list]]:
    """(changelist URL, action name, every row's pk) for every action every admin list offers."""
    return [
        (reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"), name,
         list(model._default_manager.values_list("pk", flat=True)) or [1])
        for model, model_admin in admin.site._registry.items()
        for (_, name, _) in model_admin._get_base_actions()
    ]


def test_every_admin_post_without_the_csrf_token_is_refused_and_changes_nothing(world, documents):
    urls = admin_urls(world)
    assert {reverse("admin:invoicing_invoice_credit", args=[documents["invoice"].pk]), reverse("admin:finance_queue"),
            reverse("admin:sessions_app_serviceappointment_change", args=[world.started.pk])} <= set(urls)
    client = client_for(world, "superuser", enforce_csrf_checks=True)
    before = snapshot()
    for url in urls:
        response = client.post(url, {"reason": "Wrong rate.", "reply": "Done.", "_save": "Save"})
        assert response.status_code == 403 and b"CSRF" in response.content, f"POST {url}: {answer(response)}"
    actions = admin_actions()
    assert ("/admin/invoicing/invoice/", "issue_selected") in [(url, action) for url, action, _ in actions]
    for url, action, rows in actions:
        response = client.post(url, {"action": action, "_selected_action": rows, "post": "yes"})
        assert response.status_code == 403 and b"CSRF" in response.content, f"{action} at {url}: {answer(response)}"
    assert snapshot() == before
