"""Bad input (issue "Reliability and security"): random and hostile values posted to every form, wizard step and
admin action — wrong types, huge strings, control characters, other users' ids, steps out of order, expired wizard
state, stale pages submitted after someone else acted.

Every example asserts the same three things: never a server error (the test clients turn them into 500 responses
instead of raising), a specific message the user can act on, and nothing written when the input is invalid (the
rows every flow writes are counted before and after). Each example runs in a savepoint that is rolled back, so the
examples of one test do not see each other's writes.

Run it on PostgreSQL too, which refuses NUL characters that SQLite stores: with
DATABASE_URL=postgres://postgres@127.0.0.1:5432/mentoring_hostile set, `.venv/bin/python -m pytest <this file>`.
"""

import html
import re
import traceback
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from urllib.parse import quote

import pytest
from django import forms
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from hypothesis import assume, example, given
from hypothesis import strategies as st

from invoicing.models import CreditNote, FinanceTicket, Invoice, PaymentStatement
from invoicing.services import invoices_issue, month_end_generate, ticket_raise, ticket_reply
from notifications.models import OutboxEmail
from sessions_app import roles
from sessions_app.models import (
    AppointmentEvent,
    CancellationReason,
    Mentee,
    Mentor,
    ServiceAppointment,
    WrapUpRequest,
    WrapUpRequestItem,
)
from sessions_app.services import WrapUp, appointment_cancel, appointment_wrap_up
from sessions_app.validators import ONE_LINE_MESSAGE
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory, MentorFactory, UserFactory
from tests.strategies import (
    NASTY_NUMBERS,
    examples,
    form_data,
    hostile_id,
    hostile_number,
    hostile_text,
    huge_text,
    last,
    posted,
    short_hostile_text,
)

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome
Kind = AppointmentEvent.Kind
MENTOR_OUTCOMES = {Outcome.ATTENDED, Outcome.LATE_CANCELLATION, Outcome.DID_NOT_ATTEND}
STATUS_VALUES = {Outcome.ATTENDED, Outcome.CANCELLED, Outcome.LATE_CANCELLATION, Outcome.DID_NOT_ATTEND}
VALID_REASON = "<an active reason from the list>"  # stands for world.reason.pk in generated posts
NULL = "Null characters are not allowed."
INVALID_CHOICE = "Select a valid choice."
STALE_WIZARD = "This page was out of date, so nothing was saved. Carry on from this step."
REVALIDATION = "Some answers were missing or out of date, so nothing was saved."
STALE_CANCEL = "This page was out of date, so nothing was cancelled. Carry on from this step."
CANCEL_REVALIDATION = "Some answers were missing or out of date, so nothing was cancelled."


# --------------------------------------------------------------------------- helpers


@contextmanager
def rolled_back():
    """One example's writes, undone afterwards (a savepoint inside the test's transaction)."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def browser(user=None) -> Client:
    """A client of its own (its own session), whose server errors come back as 500 responses."""
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def no_server_error(response, *allowed):
    allowed = allowed or (200, 302, 400, 403, 404)
    if response.status_code == 500:
        problem = "".join(traceback.format_exception(*response.exc_info)) if response.exc_info else ""
        pytest.fail(f"500 from {response.request.get('PATH_INFO')}:\n{problem[-4000:]}")
    assert response.status_code in allowed, (response.status_code, allowed)
    return response


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def snapshot() -> dict:
    """Everything a flow of this project writes, in a form that shows any change."""
    return {
        "appointments": list(ServiceAppointment.objects.order_by("pk").values_list(
            "pk", "status", "outcome", "funding_arrangement_id", "session_notes", "actual_minutes", "admin_details",
            "wrapped_up_by_id", "cancellation_reason_id", "cancellation_note")),
        "appointment history": ServiceAppointment.history.count(),
        "events": AppointmentEvent.objects.count(),
        "tickets": list(FinanceTicket.objects.order_by("pk").values_list("pk", "status", "reply")),
        "outbox": OutboxEmail.objects.count(),
        "requests": list(WrapUpRequest.objects.order_by("pk").values_list("pk", "status", "message")),
        "request items": WrapUpRequestItem.objects.count(),
        "invoices": list(Invoice.objects.order_by("pk").values_list("pk", "status", "number")),
        "credit notes": CreditNote.objects.count(),
        "statements": list(PaymentStatement.objects.order_by("pk").values_list("pk", "status", "number")),
        "calendar tokens": list(Mentor.objects.order_by("pk").values_list("pk", "calendar_token")),
    }


def as_int(value):
    """What the database lookups make of a posted id (`int()`), or None where they refuse it."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(2**63) <= number < 2**63 else None


def char_field_problem(value, *, required_message=None, max_length=None, max_length_message=None, one_line=False):
    """The message a forms.CharField (stripped, NUL refused) gives, or None when it accepts the value.
    `one_line`: the field refuses a line break too (checked first, so its message is the one shown)."""
    value = (last(value) or "").strip()
    if not value:
        return required_message
    if one_line and value.splitlines() != [value]:
        return ONE_LINE_MESSAGE
    if max_length is not None and len(value) > max_length:
        return max_length_message or f"Ensure this value has at most {max_length} characters (it has {len(value)})."
    if "\x00" in value:
        return NULL
    return None


# --------------------------------------------------------------------------- the people and their data


class World:
    """Ann Mentor's sessions and Olu Othermentor's, Mo Mentee's funding and someone else's."""

    def __init__(self):
        now = timezone.now().replace(microsecond=0)
        self.mentor = MentorFactory(user__full_name="Ann Mentor", user__email="ann@example.com")
        self.other_mentor = MentorFactory(user__full_name="Olu Othermentor", user__email="olu@example.com")
        self.leader = UserFactory(full_name="Lee Leader", email="lee@example.com", roles=[roles.SENIOR_LEADERSHIP])
        self.finance = UserFactory(full_name="Fay Finance", email="fay@example.com", roles=[roles.FINANCE])
        self.mentee = MenteeFactory(full_name="Mo Mentee")
        self.funded = FundingArrangementFactory(mentee=self.mentee, funder__name="Student Finance England",
                                                reference="SFE-42")
        self.expired = FundingArrangementFactory(mentee=self.mentee, valid_from=date(2019, 1, 1),
                                                 valid_until=date(2019, 12, 31))
        self.foreign = FundingArrangementFactory(mentee=MenteeFactory(full_name="Priya Pupil"),
                                                 funder__name="University of Leeds")

        def book(mentor, start):
            return AppointmentFactory(mentor=mentor, mentee=self.mentee, starts_at=start,
                                      ends_at=start + timedelta(hours=1))

        self.past = book(self.mentor, now - timedelta(hours=3))
        self.older = book(self.mentor, now - timedelta(days=2))
        self.future = book(self.mentor, now + timedelta(days=3))
        self.done = book(self.mentor, now - timedelta(days=3))
        appointment_wrap_up(appointment_id=self.done.pk, acting_user=self.mentor.user,
                            answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=self.funded,
                                           session_notes="Notes", actual_minutes=60))
        self.theirs = book(self.other_mentor, now - timedelta(hours=5))
        self.their_future = book(self.other_mentor, now + timedelta(days=4))
        self.reason = CancellationReason.objects.get(label="Mentee unwell")
        self.inactive_reason = CancellationReason.objects.get(label="Other")
        CancellationReason.objects.filter(pk=self.inactive_reason.pk).update(is_active=False)


@pytest.fixture
def world(db) -> World:
    return World()


# --------------------------------------------------------------------------- the wrap-up wizard


class Wizard:
    """Posts the wrap-up wizard's steps as a browser would, or as a tampering client would."""

    def __init__(self, client, appointment, view="appointment-wrap-up", prefix="wrap_up"):
        self.client, self.reference = client, appointment.reference
        self.url = reverse(view, args=[self.reference])
        self.management = f"{prefix}_{self.reference}-current_step"

    def start(self):
        return no_server_error(self.client.get(self.url), 200)

    def post(self, step, fields=None, *, goto=None):
        data = {} if step is None else {self.management: step}
        if goto is not None:
            data["wizard_goto_step"] = goto
        for name, value in (fields or {}).items():
            data[name if "-" in name else f"{step}-{name}"] = value
        return no_server_error(self.client.post(self.url, form_data(data)))

    @staticmethod
    def step(response):
        return response.context["wizard"]["steps"].current

    def reach(self, world, step, *, funding=None):
        """Answer the steps before `step` correctly."""
        self.start()
        order = ["outcome", "funding", "notes", "review"]
        answers = {
            "outcome": {"outcome": Outcome.ATTENDED},
            "funding": {"funding": str(world.funded.pk) if funding is None else funding},
            "notes": {"session_notes": "Essay planning.", "actual_minutes": "50"},
        }
        response = None
        for name in order[:order.index(step)]:
            response = self.post(name, answers[name])
            assert self.step(response) == order[order.index(name) + 1], response.context["form"].errors
        return response


@given(value=posted(st.one_of(hostile_text, st.sampled_from(
    ["cancelled", "ATTENDED", "attended ", " attended", "completed", "scheduled", "awaiting_finance"]))))
@examples(30)
def test_outcome_step_takes_only_an_outcome_from_the_list(world, value):
    assume(last(value) not in MENTOR_OUTCOMES)
    with rolled_back():
        before = snapshot()
        wizard = Wizard(browser(world.mentor.user), world.past)
        wizard.start()
        # The address the cancel page sends late cancellations to, with something else in it, then "come back".
        assert wizard.step(no_server_error(wizard.client.get(wizard.url, {"outcome": last(value) or ""}), 200)) == (
            "outcome")
        assert wizard.step(no_server_error(wizard.client.get(wizard.url, {"resume": last(value) or "1"}), 200)) == (
            "outcome")
        response = wizard.post("outcome", {"outcome": value})
        assert response.status_code == 200 and wizard.step(response) == "outcome"
        expected = "Choose what happened in the session." if not last(value) else INVALID_CHOICE
        assert expected in text_of(response)
        assert snapshot() == before


@given(value=posted(st.one_of(hostile_id, hostile_text, st.sampled_from(["missing", "MISSING", "None"]))),
       foreign=st.sampled_from(["foreign", "expired", "nonexistent"]), use_foreign=st.booleans())
@examples(30)
def test_funding_step_refuses_other_mentees_arrangements_and_junk(world, value, foreign, use_foreign):
    if use_foreign:  # another mentee's arrangement, this mentee's expired one, or one that does not exist
        value = {"foreign": str(world.foreign.pk), "expired": str(world.expired.pk), "nonexistent": "987654"}[foreign]
    with rolled_back():
        before = snapshot()
        wizard = Wizard(browser(world.mentor.user), world.past)
        wizard.reach(world, "funding")
        response = wizard.post("funding", {"funding": value})
        chosen = last(value)
        if chosen in (None, "", str(world.funded.pk), "missing"):
            assert wizard.step(response) == "notes"  # "Next" always moves on; nothing chosen means missing
        else:
            assert response.status_code == 200 and wizard.step(response) == "funding"
            assert f"{INVALID_CHOICE} {chosen} is not one of the available choices." in text_of(response)
        assert snapshot() == before


def minutes_problem(raw) -> str | None:
    try:
        minutes = forms.IntegerField(required=False).clean(last(raw))
    except ValidationError:
        return "Enter the actual duration as a whole number of minutes."
    if minutes is None:
        return "Enter how long the session actually lasted, in minutes."
    if minutes < 5:
        return "The actual duration must be at least 5 minutes."
    if minutes > 480:
        return "The actual duration cannot be more than 8 hours (480 minutes)."
    return None


@given(notes=posted(hostile_text),
       minutes=posted(st.one_of(hostile_number, st.sampled_from(NASTY_NUMBERS), st.integers(-10, 600).map(str),
                                hostile_text)))
@examples(30)
def test_notes_step_says_what_is_wrong_with_the_notes_and_the_duration(world, notes, minutes):
    with rolled_back():
        wizard = Wizard(browser(world.mentor.user), world.past)
        wizard.reach(world, "notes")
        before = snapshot()
        response = wizard.post("notes", {"session_notes": notes, "actual_minutes": minutes})
        problems = [
            char_field_problem(notes, required_message="Tell us what was covered in the session."),
            minutes_problem(minutes),
        ]
        page = text_of(response)
        if any(problems):
            assert response.status_code == 200 and wizard.step(response) == "notes"
            for problem in filter(None, problems):
                assert problem in page
        else:
            assert wizard.step(response) == "review"
        assert snapshot() == before


@given(details=posted(hostile_text), funding=st.sampled_from(["funded", "missing", ""]))
@examples(30)
def test_review_step_needs_admin_details_only_when_something_is_missing(world, details, funding):
    with rolled_back():
        wizard = Wizard(browser(world.mentor.user), world.past)
        wizard.reach(world, "review", funding=str(world.funded.pk) if funding == "funded" else funding)
        before = snapshot()
        response = wizard.post("review", {"admin_details": details})
        missing = funding != "funded"
        written = (last(details) or "").strip()
        problem = char_field_problem(details, required_message=(
            "Something is missing (the funding type): explain the issue in Admin Details so Finance can sort it out."
            if missing else None))
        if problem:
            assert response.status_code == 200 and wizard.step(response) == "review"
            assert problem in text_of(response)
            assert snapshot() == before
            return
        assert response.status_code == 302 and response.url == world.past.get_absolute_url()
        appointment = ServiceAppointment.objects.get(pk=world.past.pk)
        assert appointment.status == (Status.AWAITING_FINANCE if missing else Status.COMPLETED)
        assert appointment.admin_details == written
        assert AppointmentEvent.objects.count() == before["events"] + 1
        tickets = FinanceTicket.objects.filter(appointment=appointment)
        assert [ticket.message for ticket in tickets] == ([written] if written else [])
        assert messages_of(response) == [
            f"{appointment.reference} is wrapped up and with Finance: they will find the missing information, "
            "add it to the mentee's account and complete the session record." if missing else
            f"{appointment.reference} is wrapped up. The session record is complete."
        ]


WIZARD_STEPS = ["outcome", "funding", "notes", "review"]


@given(progress=st.integers(0, 2),
       step=st.one_of(st.none(), st.sampled_from(WIZARD_STEPS), hostile_text),
       goto=st.one_of(st.none(), st.sampled_from(WIZARD_STEPS), hostile_text),
       fields=st.dictionaries(
           st.sampled_from(["outcome-outcome", "funding-funding", "notes-session_notes", "notes-actual_minutes",
                            "review-admin_details", "wrap_up_SA-999999-current_step", "outcome-0-outcome"]),
           hostile_text, max_size=4))
@examples(40)
def test_tampered_steps_and_steps_out_of_order_save_nothing(world, progress, step, goto, fields):
    """The hidden current step set to another step or to nonsense, "Back" to nonsense, the review posted early."""
    with rolled_back():
        wizard = Wizard(browser(world.mentor.user), world.past)
        wizard.reach(world, WIZARD_STEPS[progress])  # never past the notes: the review cannot be complete
        before = snapshot()
        data = dict(fields)
        if step is not None:
            data[wizard.management] = step
        if goto is not None:
            data["wizard_goto_step"] = goto
        response = no_server_error(wizard.client.post(wizard.url, form_data(data)), 200)
        if step not in WIZARD_STEPS and goto not in WIZARD_STEPS:
            assert STALE_WIZARD in text_of(response)
            assert wizard.step(response) == WIZARD_STEPS[progress]
        assert snapshot() == before


def test_posting_a_step_the_answers_skipped_is_refused_clearly(world):
    """Senior Leadership record a session that did not take place: there is no funding step to post."""
    wizard = Wizard(browser(world.leader), world.past)
    wizard.start()
    assert wizard.step(wizard.post("outcome", {"outcome": Outcome.CANCELLED})) == "notes"
    before = snapshot()
    response = wizard.post("funding", {"funding": str(world.funded.pk)})
    assert response.status_code == 200 and wizard.step(response) == "notes"
    assert STALE_WIZARD in text_of(response)
    response = wizard.post("notes", {"session_notes": ""}, goto="funding")  # "Back" to it: ignored, Next instead
    assert response.status_code == 200 and wizard.step(response) == "review"
    assert snapshot() == before


@given(details=hostile_text, how=st.sampled_from(["new session", "session expired mid-way", "review posted early"]))
@examples(25)
def test_a_review_posted_without_the_earlier_steps_records_nothing(world, details, how):
    with rolled_back():
        if how == "session expired mid-way":
            Wizard(browser(world.mentor.user), world.past).reach(world, "review")
        wizard = Wizard(browser(world.mentor.user), world.past)  # a fresh session: the wizard's answers are gone
        if how == "review posted early":
            wizard.start()
        before = snapshot()
        response = wizard.post("review", {"admin_details": details})
        assert response.status_code == 200
        page = text_of(response)
        if how == "review posted early":
            problem = char_field_problem(details, required_message=(
                "Something is missing (the funding type): explain the issue in Admin Details so Finance can sort it "
                "out."))
            if problem:  # the review itself is wrong: said on the review
                assert wizard.step(response) == "review" and problem in page
            else:  # the review is valid on its own: the earlier steps are checked again, and are missing
                assert wizard.step(response) == "outcome" and REVALIDATION in page
        else:  # no wizard in this session: the post is read as the first step, whose answer is missing
            assert wizard.step(response) == "outcome"
            assert "Choose what happened in the session." in page
        assert snapshot() == before


@pytest.mark.parametrize("by", ["leader", "finance"])
def test_a_review_submitted_after_someone_else_wrapped_up_says_who(world, by):
    wizard = Wizard(browser(world.mentor.user), world.past)
    wizard.reach(world, "review")
    someone = {"leader": world.leader, "finance": world.finance}[by]
    appointment_wrap_up(appointment_id=world.past.pk, acting_user=someone,
                        answers=WrapUp(outcome=Outcome.DID_NOT_ATTEND, funding_arrangement=world.funded))
    before = snapshot()

    response = wizard.post("review", {"admin_details": ""})

    assert response.status_code == 302 and response.url == world.past.get_absolute_url()
    [message] = messages_of(response)
    assert message.startswith(f"{world.past.reference} was already wrapped up by {someone.full_name} on ")
    assert snapshot() == before
    assert world.past.events.filter(kind__in=[Kind.WRAPPED_UP, Kind.SENT_TO_FINANCE]).count() == 1
    assert ServiceAppointment.objects.get(pk=world.past.pk).outcome == Outcome.DID_NOT_ATTEND


# --------------------------------------------------------------------------- references in the address


@given(reference=st.one_of(
    st.sampled_from(["theirs", "their_future", "SA-999999", "SA-000000", "sa-", "SA-%", "SA-_", "SA-0000001"]),
    short_hostile_text))
@examples(30)
def test_other_peoples_and_made_up_references_are_not_found(world, reference):
    if reference in ("theirs", "their_future"):
        reference = getattr(world, reference).reference
    own = {world.past.reference, world.older.reference, world.future.reference, world.done.reference}
    assume(reference not in ("", ".", "..") and not any(ref in reference.upper() for ref in own))
    with rolled_back():
        client = browser(world.mentor.user)
        before = snapshot()
        base = f"/appointments/{quote(reference, safe='')}/"
        for suffix in ("", "wrap-up/", "cancel/", "ticket/"):
            no_server_error(client.get(base + suffix), 404)
        for suffix, data in (("wrap-up/", {f"wrap_up_{reference}-current_step": "review",
                                           "review-admin_details": "x"}),
                             ("cancel/", {f"cancel_{reference}-current_step": "confirm"}),
                             ("ticket/", {"subject": "s", "message": "m"})):
            no_server_error(client.post(base + suffix, form_data(data)), 404)
        assert snapshot() == before


# --------------------------------------------------------------------------- the cancel wizard


def cancel_wizard(client, world):
    return Wizard(client, world.future, view="appointment-cancel", prefix="cancel")


@given(reason=posted(st.one_of(hostile_id, st.sampled_from(["active", "inactive", "nonexistent", "label"]))),
       note=posted(hostile_text))
@examples(40)
def test_cancel_reason_must_be_an_active_one_and_the_note_is_required(world, reason, note):
    substitutes = {"active": str(world.reason.pk), "inactive": str(world.inactive_reason.pk),
                   "nonexistent": "424242", "label": world.reason.label}
    if isinstance(reason, str) and reason in substitutes:
        reason = substitutes[reason]
    with rolled_back():
        wizard = cancel_wizard(browser(world.mentor.user), world)
        wizard.start()
        before = snapshot()
        response = wizard.post("reason", {"reason": reason, "internal_note": note})
        number = as_int(last(reason)) if last(reason) not in (None, "") else None
        reason_ok = number is not None and CancellationReason.objects.filter(pk=number, is_active=True).exists()
        problems = [
            None if reason_ok else NULL if "\x00" in (last(reason) or "") else
            "Choose a cancellation reason from the list.",
            char_field_problem(note, required_message=(
                "Add an internal cancellation note (it is not shared in any attendance emails).")),
        ]
        if any(problems):
            assert response.status_code == 200 and wizard.step(response) == "reason"
            for problem in filter(None, problems):
                assert problem in text_of(response)
        else:
            assert wizard.step(response) == "confirm"
            assert "Reason: Mentee unwell" in text_of(response) or number != world.reason.pk
        assert snapshot() == before


CANCEL_STEPS = ["reason", "confirm"]


@given(step=st.one_of(st.none(), st.sampled_from(CANCEL_STEPS), hostile_text),
       goto=st.one_of(st.none(), st.sampled_from(CANCEL_STEPS), hostile_text),
       fresh=st.booleans(), note=hostile_text)
@examples(40)
def test_cancel_steps_out_of_order_or_tampered_cancel_nothing(world, step, goto, fresh, note):
    with rolled_back():
        wizard = cancel_wizard(browser(world.mentor.user), world)
        if not fresh:
            wizard.start()
        before = snapshot()
        data = {"reason-internal_note": note}
        if step is not None:
            data[wizard.management] = step
        if goto is not None:
            data["wizard_goto_step"] = goto
        response = no_server_error(wizard.client.post(wizard.url, form_data(data)), 200)
        page = text_of(response)
        if step not in CANCEL_STEPS and goto not in CANCEL_STEPS:
            assert STALE_CANCEL in page
        elif step == "confirm" and goto not in CANCEL_STEPS and not fresh:
            assert CANCEL_REVALIDATION in page  # confirmed without a reason
        elif goto not in CANCEL_STEPS:
            assert "Choose a cancellation reason from the list." in page
        assert snapshot() == before
        assert wizard.step(response) == (goto if goto in CANCEL_STEPS else "reason")


def test_confirming_after_someone_else_cancelled_says_who(world):
    wizard = cancel_wizard(browser(world.mentor.user), world)
    wizard.start()
    response = wizard.post("reason", {"reason": str(world.reason.pk), "internal_note": "Unwell."})
    assert wizard.step(response) == "confirm"
    appointment_cancel(appointment_id=world.future.pk, acting_user=world.leader, reason=world.reason,
                       internal_note="Phoned the office.")
    before = snapshot()

    response = wizard.post("confirm")

    assert response.status_code == 302 and response.url == world.future.get_absolute_url()
    [message] = messages_of(response)
    assert message.startswith(f"{world.future.reference} was already cancelled by Lee Leader on ")
    assert snapshot() == before
    assert world.future.events.filter(kind=Kind.CANCELLED).count() == 1


# --------------------------------------------------------------------------- the ticket form


EVIL_NEXT = [
    "https://evil.example/", "//evil.example/", "///evil.example/", "\\\\evil.example", "/\\evil.example",
    "javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "http:evil.example",
    "https:///evil.example",
    "\x00//evil.example", "\x01//evil.example", "data:text/html,<script>alert(1)</script>", "/%2F%2Fevil.example",
    "http://testserver@evil.example/", "/appointments/../admin/", '"><script>alert(1)</script>', "",
]


@given(subject=posted(st.one_of(hostile_text, huge_text(25, 60))), message=posted(hostile_text),
       next_url=st.one_of(st.sampled_from(EVIL_NEXT), hostile_text), next_in=st.sampled_from(["query", "form"]))
@examples(40)
def test_ticket_form_says_what_is_wrong_and_never_redirects_off_site(world, subject, message, next_url, next_in):
    with rolled_back():
        client = browser(world.mentor.user)
        url = reverse("appointment-ticket", args=[world.past.reference])
        data = {"subject": subject, "message": message}
        if next_in == "query":
            url = f"{url}?next={quote(next_url, safe='')}"
        else:
            data["next"] = next_url
        before = snapshot()
        response = no_server_error(client.post(url, form_data(data)), 200, 302)
        problems = [
            char_field_problem(subject, required_message="Give the ticket a subject.", max_length=200, one_line=True),
            char_field_problem(message, required_message="Tell Finance what you need."),
        ]
        if any(problems):
            assert response.status_code == 200
            page = text_of(response)
            for problem in filter(None, problems):
                assert problem in page
            assert "<script>alert(1)" not in response.content.decode()
            assert snapshot() == before
            return
        assert response.status_code == 302
        location = response["Location"]
        assert url_has_allowed_host_and_scheme(location, allowed_hosts={"testserver"}), location
        assert not location.startswith(("//", "/\\")), location
        ticket = FinanceTicket.objects.get(appointment=world.past, raised_by=world.mentor.user)
        assert ticket.subject == last(subject).strip() and ticket.message == last(message).strip()
        assert messages_of(response) == ["Your ticket is with Finance. Their reply will appear on your homepage."]


# ------------------------------------------------------------------------- Senior Leadership's list; mentors' requests


ID_KEYS = ["past", "older", "future", "done", "theirs", "their_future", "nonexistent", "huge", "weird"]


@st.composite
def session_statuses(draw, *, with_notes):
    choices = st.one_of(st.sampled_from(["", "attended", "cancelled", "late_cancellation", "did_not_attend"]),
                        st.sampled_from(["completed", "Attended", "scheduled"]), hostile_text)
    fields = {}
    for key in draw(st.lists(st.sampled_from(ID_KEYS), max_size=4, unique=True)):
        fields[key] = {"outcome": draw(posted(choices).filter(lambda v: v is not None)),
                       "reason": draw(posted(st.one_of(st.just(VALID_REASON), st.sampled_from(["", "0", "999999"]),
                                                       hostile_text))),
                       "internal_note": draw(posted(st.one_of(hostile_text, huge_text(1990, 2010))))}
        if with_notes:
            fields[key]["notes"] = draw(posted(hostile_text))
    extra = draw(st.dictionaries(st.sampled_from(["outcome_²", "outcome_abc", "outcome_-1", "outcome_" + "9" * 30,
                                                  "outcome_" + "9" * 5000, "outcome_", "outcome_1.0", "notes_abc"]),
                                 hostile_text, max_size=2))
    return fields, extra


def statuses_data(world, fields, extra, *, huge_id):
    """outcome_<id> fields: own sessions on the page, own ones not on it, other mentors', made-up ids."""
    ids = {name: getattr(world, name).pk for name in ("past", "older", "future", "done", "theirs", "their_future")}
    ids["nonexistent"] = 987_654_321
    ids["huge"] = huge_id
    ids["weird"] = "0" + str(world.past.pk)  # the same session, another spelling of its id
    data = dict(extra)
    pks = {}
    for key, values in fields.items():
        pk = ids[key]
        pks[key] = pk
        data[f"outcome_{pk}"] = values["outcome"]
        reason = values["reason"]
        data[f"reason_{pk}"] = ([world.reason.pk if v == VALID_REASON else v for v in reason]
                                if isinstance(reason, list) else world.reason.pk if reason == VALID_REASON else reason)
        data[f"internal_note_{pk}"] = values["internal_note"]
        if "notes" in values:
            data[f"notes_{pk}"] = values["notes"]
    return data, pks


def posted_statuses(client, url, data, before):
    """Post a list of statuses. A field name of more than 1,000 characters is refused by Django's multipart parser
    with a 400 (no browser sends one): then nothing may have been written, and there is nothing more to check."""
    response = no_server_error(client.post(url, form_data(data)), 200, 302, 400)
    if response.status_code == 400:
        assert any(len(name) > 1000 for name in data), "a 400 for an ordinary post"
        assert snapshot() == before
        return None
    return response


def late_cancellation_problems(values, reference) -> list[str]:
    """What the list says about a late-notice cancellation's reason and internal note (nothing for other statuses)."""
    if last(values["outcome"]) != "late_cancellation":
        return []
    problems = []
    if last(values["reason"]) != VALID_REASON:
        problems.append("Choose a cancellation reason from the list.")
    note = char_field_problem(
        values["internal_note"], max_length=2000, max_length_message=f"Keep the note for {reference} under 2000 characters.",
        required_message="Add an internal cancellation note (it is not shared in any attendance emails).")
    if note:
        problems.append(note)
    return problems


def reference_of(world, key, pk, page_ids):
    """How the form names a session: its reference when the page lists it, "the session" otherwise."""
    if key in ("nonexistent", "huge", "weird") or int(pk) not in page_ids:
        return "the session"
    return ServiceAppointment.objects.get(pk=pk).reference


@given(statuses=session_statuses(with_notes=True), huge_id=st.integers(10**12, 10**18 - 1))
@examples(40)
def test_senior_leadership_list_says_what_is_wrong_and_wraps_up_only_that_mentors_sessions(world, statuses, huge_id):
    fields, extra = statuses
    with rolled_back():
        client = browser(world.leader)
        url = reverse("mentor-wrap-up", args=[world.mentor.pk])
        no_server_error(client.get(url), 200)
        page_ids = {world.past.pk, world.older.pk}  # started and still Scheduled
        data, pks = statuses_data(world, fields, extra, huge_id=huge_id)
        before = snapshot()
        response = posted_statuses(client, url, data, before)
        if response is None:
            return

        problems, problems_on_top = [], []  # on a session's row; above the list, for sessions it no longer shows
        effective = {}  # posted id -> (key, outcome) as the form reads it
        for key, pk in pks.items():
            if key == "weird":  # outcome_0<id> is not the field of any session: ignored
                continue
            effective[int(pk)] = (key, last(fields[key]["outcome"]))
        for pk, (key, outcome) in effective.items():
            reference = reference_of(world, key, pk, page_ids)
            found = problems if pk in page_ids else problems_on_top
            if outcome and outcome not in STATUS_VALUES:
                found.append(f"Choose the status of {reference} from the list.")
            notes = fields[key].get("notes")
            problem = char_field_problem(notes, max_length=2000,
                                         max_length_message=f"Keep the notes for {reference} under 2000 characters.")
            if problem:
                found.append(problem)
            found.extend(late_cancellation_problems(fields[key], reference))
        chosen = {pk: outcome for pk, (key, outcome) in effective.items() if outcome in STATUS_VALUES}
        if not problems and not problems_on_top and not chosen:
            problems.append("Choose a status for at least one session. Nothing was changed.")

        if problems or problems_on_top:
            assert response.status_code == 200
            page = text_of(response)
            for problem in problems:
                assert problem in page
            if problems_on_top:  # the page shows the first of them
                assert any(problem in page for problem in problems_on_top), problems_on_top
            assert snapshot() == before
            return

        assert response.status_code == 302
        result = client.get(response.url)
        no_server_error(result, 200)
        rows = {row["reference"]: row["summary"] for row in result.context["result"]["rows"]}
        assert len(rows) == len(chosen)
        for pk, outcome in chosen.items():
            appointment = ServiceAppointment.objects.filter(pk=pk).first()
            if appointment is None or appointment.mentor_id != world.mentor.pk:
                assert rows[f"Session {pk}"] == "not changed: this is not one of Ann Mentor's sessions."
            elif pk in page_ids:
                assert appointment.status in (Status.COMPLETED, Status.AWAITING_FINANCE)
                assert appointment.wrapped_up_by == world.leader
            else:
                assert rows[appointment.reference].startswith("not changed: ")
        untouchable = [world.theirs.pk, world.their_future.pk, world.future.pk, world.done.pk]  # never changed here
        assert ([row for row in snapshot()["appointments"] if row[0] in untouchable]
                == [row for row in before["appointments"] if row[0] in untouchable])


def test_senior_leadership_list_submitted_after_someone_else_wrapped_up_says_who(world):
    client = browser(world.leader)
    url = reverse("mentor-wrap-up", args=[world.mentor.pk])
    no_server_error(client.get(url), 200)  # the page as it was
    appointment_wrap_up(appointment_id=world.past.pk, acting_user=world.mentor.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=world.funded,
                                       session_notes="Notes", actual_minutes=60))
    events = AppointmentEvent.objects.count()

    response = no_server_error(client.post(url, {f"outcome_{world.past.pk}": "did_not_attend"}), 302)

    [row] = client.get(response.url).context["result"]["rows"]
    assert row["summary"].startswith(f"not changed: {world.past.reference} was already wrapped up by Ann Mentor on ")
    assert AppointmentEvent.objects.count() == events
    assert ServiceAppointment.objects.get(pk=world.past.pk).outcome == Outcome.ATTENDED


@given(statuses=session_statuses(with_notes=False), huge_id=st.integers(10**12, 10**18 - 1),
       message=posted(st.one_of(hostile_text, huge_text(300, 500))))
@examples(40)
def test_mentors_request_to_senior_leadership_says_what_is_wrong(world, statuses, huge_id, message):
    fields, extra = statuses
    with rolled_back():
        client = browser(world.mentor.user)
        url = reverse("wrap-up-request")
        no_server_error(client.get(url), 200)
        page_ids = {world.past.pk, world.older.pk}
        data, pks = statuses_data(world, fields, extra, huge_id=huge_id)
        data["message"] = message
        before = snapshot()
        response = posted_statuses(client, url, data, before)
        if response is None:
            return

        effective = {int(pk): (key, last(fields[key]["outcome"])) for key, pk in pks.items() if key != "weird"}
        form_problems = [f"Choose the status of {reference_of(world, key, pk, page_ids)} from the list."
                         for pk, (key, outcome) in effective.items() if outcome and outcome not in STATUS_VALUES]
        for pk, (key, outcome) in effective.items():
            form_problems.extend(late_cancellation_problems(fields[key], reference_of(world, key, pk, page_ids)))
        message_problem = char_field_problem(message, max_length=2000)
        if message_problem:
            form_problems.append(message_problem)
        chosen = {pk: outcome for pk, (key, outcome) in effective.items() if outcome in STATUS_VALUES}
        service_problems = []
        if not form_problems:
            if not chosen:
                service_problems.append(
                    "Choose the status of at least one session, so Senior Leadership know what happened.")
            for pk in chosen:
                appointment = ServiceAppointment.objects.filter(pk=pk).first()
                if appointment is None or appointment.mentor_id != world.mentor.pk:
                    service_problems.append("One of the sessions you chose is not one of your sessions.")
                elif appointment.status != Status.SCHEDULED:
                    service_problems.append(f"{appointment.reference} does not need wrapping up: it is "
                                            f"{appointment.get_status_display()}.")
                elif pk not in page_ids:
                    service_problems.append(f"{appointment.reference} has not started yet, so there is nothing to "
                                            "wrap up.")
        problems = form_problems + service_problems
        if problems:
            assert response.status_code == 200
            page = text_of(response)
            for problem in problems:
                assert problem in page
            assert snapshot() == before
            return
        assert response.status_code == 302 and response.url == reverse("home")
        request = WrapUpRequest.objects.get(mentor=world.mentor, status=WrapUpRequest.Status.OPEN)
        assert dict(request.items.values_list("appointment_id", "outcome")) == chosen
        assert request.message == (last(message) or "").strip()


@given(mentor_id=st.integers(0, 2**63 - 1), who=st.sampled_from(["leader", "mentor"]))
@examples(25)
def test_a_mentors_list_for_someone_who_is_not_a_mentor_is_not_found(world, mentor_id, who):
    user = world.leader if who == "leader" else world.mentor.user
    assume(who == "mentor" or not Mentor.objects.filter(pk=mentor_id).exists())
    with rolled_back():
        client = browser(user)
        before = snapshot()
        for suffix in ("", "done/"):
            no_server_error(client.get(f"/mentors/{mentor_id}/wrap-up/{suffix}"), 404)
        no_server_error(client.post(f"/mentors/{mentor_id}/wrap-up/", {f"outcome_{world.past.pk}": "attended"}),
                        404)
        assert snapshot() == before


# --------------------------------------------------------------------------- calendar, dashboard, calendar feed


@given(month=posted(st.one_of(hostile_text, st.sampled_from(["2026-13", "2026-00", "0999-01", "2026-1", "2026/01",
                                                             "٢٠٢٦-٠١", "2026-01\n", "99999-01", "9999-12",
                                                             "9999-11", "1900-01", "1899-12", "0001-01"]))),
       mentor=posted(st.one_of(hostile_id, st.sampled_from(["own", "other"]))),
       who=st.sampled_from(["leader", "mentor", "finance"]))
@examples(35)
def test_dashboard_and_calendar_query_strings_fall_back_with_a_message(world, month, mentor, who):
    user = {"leader": world.leader, "mentor": world.mentor.user, "finance": world.finance}[who]
    mentor = {"own": str(world.mentor.pk), "other": str(world.other_mentor.pk)}.get(last(mentor), mentor)
    with rolled_back():
        client = browser(user)
        before = snapshot()
        params = form_data({"month": month, "mentor": mentor})
        for url in ("/dashboard/", "/calendar/"):
            response = no_server_error(client.get(url, params), 200)
            page = text_of(response)
            raw_month = last(month)
            if url == "/dashboard/" and raw_month:
                match = re.match(r"^(\d{4})-(\d{2})$", raw_month)
                good = bool(match) and shown_month(int(match[1]), int(match[2]))
                assert ("is not a month (use YYYY-MM, e.g." in page) is not good
            raw_mentor = last(mentor)
            complains = "That mentor could not be found. Showing every mentor." in page
            if who == "mentor" or not raw_mentor:
                assert not complains  # a mentor sees their own sessions whatever the address says
            else:
                assert complains is not (raw_mentor.isascii() and raw_mentor.isdigit() and len(raw_mentor) <= 18)
        assert snapshot() == before


def shown_month(year: int, month: int) -> bool:
    """The months the calendar and dashboard show: from January 1900 to November 9999 (each page shows the weeks
    around the month and links to the next one, and December 9999 has none)."""
    return 1 <= month <= 12 and (1900, 1) <= (year, month) <= (9999, 11)


@given(year=st.one_of(st.integers(0, 10**30), st.integers(1890, 2100), st.integers(9990, 10001)),
       month=st.one_of(st.integers(0, 13), st.integers(0, 10**30)))
@example(year=9999, month=12)
@example(year=9999, month=11)
@example(year=1, month=1)
@example(year=1900, month=1)
@example(year=99999999999999999999, month=1)
@examples(30)
def test_calendar_months_that_cannot_be_shown_are_not_found(world, year, month):
    with rolled_back():
        client = browser(world.mentor.user)
        response = no_server_error(client.get(f"/calendar/{year}/{month}/"), 200, 404)
        assert response.status_code == (200 if shown_month(year, month) else 404)


@given(token=st.one_of(short_hostile_text, st.text(alphabet="0123456789abcdef-_",
                                                                                min_size=20, max_size=60)))
@examples(40)
def test_calendar_feed_addresses_that_are_not_a_mentors_are_not_found(world, token):
    assume(token not in set(Mentor.objects.values_list("calendar_token", flat=True)) and token not in ("", ".", ".."))
    with rolled_back():
        client = browser()
        response = no_server_error(client.get(f"/calendar/feed/{quote(token, safe='')}.ics"), 404)
        assert response.status_code == 404


# --------------------------------------------------------------------------- Finance in the admin


@pytest.fixture
def flagged(world):
    """Mo Mentee's session, wrapped up with the funding missing: it waits for Finance."""
    appointment_wrap_up(appointment_id=world.older.pk, acting_user=world.mentor.user,
                        answers=WrapUp(outcome=Outcome.ATTENDED, session_notes="x", actual_minutes=60,
                                       admin_details="No funding on file."))
    return ServiceAppointment.objects.get(pk=world.older.pk)


@given(funding=posted(st.one_of(hostile_id, st.sampled_from(["valid", "expired", "foreign", "none"]))),
       reply=posted(hostile_text))
@examples(50)
def test_complete_wrap_up_says_what_is_wrong_with_the_funding_and_the_reply(world, flagged, funding, reply):
    names = {"valid": str(world.funded.pk), "expired": str(world.expired.pk), "foreign": str(world.foreign.pk),
             "none": ""}
    if isinstance(funding, str) and funding in names:
        funding = names[funding]
    url = reverse("admin:sessions_app_serviceappointment_complete_wrap_up", args=[flagged.pk])
    with rolled_back():
        client = browser(world.finance)
        before = snapshot()
        response = no_server_error(client.post(url, form_data({"funding_arrangement": funding, "reply": reply})),
                                   200, 302)
        chosen = last(funding)
        number = as_int(chosen) if chosen not in (None, "") else None
        form_problems = []
        if chosen and "\x00" in chosen:
            form_problems.append(NULL)
        elif chosen not in (None, "") and number not in (world.funded.pk, world.expired.pk):
            form_problems.append(f"{INVALID_CHOICE} That choice is not one of the available choices.")
        if "\x00" in (last(reply) or "") and (last(reply) or "").strip():
            form_problems.append(NULL)
        service_problems = []
        if not form_problems:
            if number is None:
                service_problems.append("Choose the funding arrangement that applies to this session.")
            elif number == world.expired.pk:
                day = date_format(timezone.localdate(flagged.starts_at), "j F Y")
                service_problems.append(f"That funding arrangement does not apply to Mo Mentee on {day}.")
            if not (last(reply) or "").strip():
                service_problems.append("Write a reply for the person who wrapped up the session.")
        problems = form_problems + service_problems
        if problems:
            assert response.status_code == 200
            page = text_of(response)
            for problem in problems:
                assert problem in page
            assert snapshot() == before
            return
        assert response.status_code == 302 and response.url == reverse("admin:finance_queue")
        flagged.refresh_from_db()
        assert flagged.status == Status.COMPLETED and flagged.funding_arrangement == world.funded
        assert flagged.events.filter(kind=Kind.COMPLETED_BY_FINANCE).count() == 1
        assert not FinanceTicket.objects.filter(appointment=flagged, status=FinanceTicket.Status.OPEN).exists()


def test_complete_wrap_up_submitted_after_someone_else_completed_it_says_who(world, flagged):
    url = reverse("admin:sessions_app_serviceappointment_complete_wrap_up", args=[flagged.pk])
    client = browser(world.finance)
    no_server_error(client.get(url), 200)
    colleague = UserFactory(full_name="Col League", roles=[roles.FINANCE])
    no_server_error(browser(colleague).post(url, {"funding_arrangement": world.funded.pk, "reply": "Sorted."}), 302)
    before = snapshot()

    response = no_server_error(client.post(url, {"funding_arrangement": world.funded.pk, "reply": "Me too."}), 302)

    [message] = messages_of(response)
    assert message.startswith(f"{flagged.reference} was already completed by Col League on ")
    assert snapshot() == before


@given(object_id=st.one_of(hostile_id, short_hostile_text))
@examples(30)
def test_admin_pages_for_made_up_object_ids_say_they_do_not_exist(world, object_id):
    assume(as_int(object_id) is None or not ServiceAppointment.objects.filter(pk=as_int(object_id)).exists())
    assume(object_id.strip() not in ("", ".", ".."))
    quoted = quote(object_id, safe="")
    with rolled_back():
        client = browser(world.finance)
        before = snapshot()
        for url in (f"/admin/sessions_app/serviceappointment/{quoted}/complete-wrap-up/",
                    f"/admin/invoicing/invoice/{quoted}/credit/", f"/admin/invoicing/financeticket/{quoted}/change/"):
            response = no_server_error(client.post(url, {"reply": "x", "reason": "x", "answer": "x"}), 302, 404)
            if response.status_code == 302:
                assert "doesn’t exist. Perhaps it was deleted?" in " ".join(messages_of(response))
        assert snapshot() == before


@pytest.fixture
def issued_invoice(world):
    """Ann Mentor's sessions of two months ago, invoiced and issued."""
    first = (timezone.localdate().replace(day=1) - timedelta(days=40)).replace(day=1)
    for day in (3, 10):
        start = timezone.make_aware(datetime(first.year, first.month, day, 10))
        appointment = AppointmentFactory(mentor=world.mentor, mentee=world.mentee, starts_at=start,
                                         ends_at=start + timedelta(hours=1))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=world.mentor.user,
                            answers=WrapUp(outcome=Outcome.ATTENDED, funding_arrangement=world.funded,
                                           session_notes="Notes", actual_minutes=60))
    month_end_generate(year=first.year, month=first.month)
    invoice = Invoice.objects.get(status=Invoice.Status.DRAFT)
    invoices_issue(invoice_ids=[invoice.pk], acting_user=world.finance)
    invoice.refresh_from_db()
    return invoice


@given(reason=posted(st.one_of(hostile_text, huge_text())))
@examples(30)
def test_crediting_an_invoice_needs_a_reason_of_any_length(world, issued_invoice, reason):
    url = reverse("admin:invoicing_invoice_credit", args=[issued_invoice.pk])
    with rolled_back():
        client = browser(world.finance)
        before = snapshot()
        response = no_server_error(client.post(url, form_data({"reason": reason})), 200, 302)
        problem = char_field_problem(reason, required_message="Say why the invoice is being credited.")
        if problem:
            assert response.status_code == 200 and problem in text_of(response)
            assert snapshot() == before
            return
        assert response.status_code == 302
        credit_note = CreditNote.objects.get(invoice=issued_invoice)
        assert credit_note.reason == last(reason).strip()
        assert Invoice.objects.get(pk=issued_invoice.pk).status == Invoice.Status.CREDITED
        [message] = messages_of(response)
        assert message.startswith(f"{issued_invoice.number} is credited by {credit_note.number}")


def test_crediting_an_invoice_someone_else_credited_says_so(world, issued_invoice):
    url = reverse("admin:invoicing_invoice_credit", args=[issued_invoice.pk])
    client = browser(world.finance)
    no_server_error(client.get(url), 200)
    no_server_error(browser(world.finance).post(url, {"reason": "Wrong PO."}), 302)
    before = snapshot()
    response = no_server_error(client.post(url, {"reason": "Wrong rate."}), 200)
    credit_note = CreditNote.objects.get(invoice=issued_invoice)
    assert f"{issued_invoice.number} has already been credited by {credit_note.number}." in text_of(response)
    assert snapshot() == before


@pytest.fixture
def question(world):
    return ticket_raise(raised_by=world.mentor.user, appointment=world.past, subject="Which funding applies?",
                        message="Two arrangements; which one?")


@given(answer=posted(st.one_of(hostile_text, huge_text())), button=st.sampled_from(["_save", "_continue", None]))
@examples(30)
def test_ticket_reply_needs_a_reply(world, question, answer, button):
    url = reverse("admin:invoicing_financeticket_change", args=[question.pk])
    with rolled_back():
        client = browser(world.finance)
        before = snapshot()
        data = {"answer": answer}
        if button:
            data[button] = "x"
        response = no_server_error(client.post(url, form_data(data)), 200, 302)
        value = (last(answer) or "").strip()
        if value and "\x00" in value:
            assert response.status_code == 200 and NULL in text_of(response)
            assert snapshot() == before
        elif not value:
            assert response.status_code == 302
            assert messages_of(response) == ["Write a reply before closing the ticket."]
            assert snapshot() == before
        else:
            assert response.status_code == 302
            question_now = FinanceTicket.objects.get(pk=question.pk)
            assert (question_now.status, question_now.reply) == (FinanceTicket.Status.CLOSED, value)
            assert messages_of(response) == [
                f"Ticket {question.pk} is answered and closed. Ann Mentor, who raised it, can see your reply."]


def test_ticket_reply_sent_after_someone_else_answered_says_who(world, question):
    url = reverse("admin:invoicing_financeticket_change", args=[question.pk])
    client = browser(world.finance)
    no_server_error(client.get(url), 200)
    ticket_reply(ticket_id=question.pk, acting_user=UserFactory(full_name="Col League", roles=[roles.FINANCE]),
                 reply="Self-funded.")
    before = snapshot()
    response = no_server_error(client.post(url, {"answer": "The funded one.", "_save": "x"}), 302)
    [message] = messages_of(response)
    assert message.startswith(f"Ticket {question.pk} was already answered by Col League on ")
    assert snapshot() == before


ADMIN_ACTIONS = [
    ("invoicing", "invoice", "issue_selected"), ("invoicing", "invoice", "mark_paid"),
    ("invoicing", "invoice", "export_lines"), ("invoicing", "paymentstatement", "issue_selected"),
    ("invoicing", "paymentstatement", "approve"), ("invoicing", "paymentstatement", "mark_paid"),
    ("invoicing", "paymentstatement", "export_payments"), ("invoicing", "creditnote", "export_lines"),
    ("notifications", "outboxemail", "resend"), ("sessions_app", "mentor", "regenerate_calendar_token"),
    ("invoicing", "invoice", "delete_selected"), ("sessions_app", "serviceappointment", "delete_selected"),
]


def _model_rows(model_name):
    return {
        "invoice": lambda: dict(Invoice.objects.values_list("pk", "status")),
        "paymentstatement": lambda: dict(PaymentStatement.objects.values_list("pk", "status")),
        "creditnote": lambda: dict(CreditNote.objects.values_list("pk", "number")),
        "outboxemail": lambda: dict(OutboxEmail.objects.values_list("pk", "status")),
        "mentor": lambda: dict(Mentor.objects.values_list("pk", "calendar_token")),
        "serviceappointment": lambda: dict(ServiceAppointment.objects.values_list("pk", "status")),
    }[model_name]()


@given(target=st.sampled_from(ADMIN_ACTIONS), action=st.one_of(st.none(), hostile_text),
       ids=st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-3, 12)), max_size=5),
       index=st.sampled_from(["0", "1", None]))
@examples(40)
def test_admin_actions_with_other_or_made_up_ids_act_only_on_what_exists_and_say_so(
        world, issued_invoice, target, action, ids, index):
    app, model_name, action_name = target
    url = reverse(f"admin:{app}_{model_name}_changelist")
    with rolled_back():
        client = browser(world.finance)
        rows_before, before = _model_rows(model_name), snapshot()
        data = {"action": action_name if action is None else action, "_selected_action": [str(pk) for pk in ids]}
        if index is not None:
            data["index"] = index
        response = no_server_error(client.post(url, form_data(data)), 200, 302, 403)
        rows_after = _model_rows(model_name)
        changed = {pk for pk in set(rows_before) | set(rows_after) if rows_before.get(pk) != rows_after.get(pk)}
        assert changed <= set(ids), "an action changed a row that was not selected"
        if not changed:
            assert snapshot() == before
        if response.status_code == 302:
            said = " ".join(messages_of(response))
            if not ids:
                assert "Items must be selected in order to perform actions on them. No items have been changed." in said
            elif action is not None:
                assert "No action selected." in said
            elif set(ids) & set(rows_before):
                assert said, "the action said nothing about what it did"
            else:
                # Finance may not delete documents or sessions, so that action is not theirs to choose.
                assert said == ("No action selected." if action_name == "delete_selected" else nothing_exists(model_name))
                assert snapshot() == before
        elif response.status_code == 200 and response.get("Content-Type", "").startswith("text/csv"):
            assert action is None and action_name.startswith("export")
            assert set(ids) & set(rows_before), "an export of rows that do not exist"


# Each model an admin action below is posted to: its app, and what the messages call its rows.
MODELS = {"invoice": ("invoicing", "invoices"), "paymentstatement": ("invoicing", "payment statements"),
          "creditnote": ("invoicing", "credit notes"), "outboxemail": ("notifications", "outbox emails"),
          "mentor": ("sessions_app", "mentors"), "mentee": ("sessions_app", "mentees"),
          "serviceappointment": ("sessions_app", "service appointments")}


def changelist_of(model_name):
    return reverse(f"admin:{MODELS[model_name][0]}_{model_name}_changelist")


def nothing_exists(model_name):
    return (f"None of the selected {MODELS[model_name][1]} exist any more: the page may be out of date. "
            "Nothing was changed.")


@pytest.mark.parametrize("value", ["abc", "1.5", "\x00", "1e3", "", " ", "1\x00", "-"])
@pytest.mark.parametrize("model_name, action", [("invoice", "mark_paid"), ("paymentstatement", "approve"),
                                                ("outboxemail", "resend"), ("mentor", "regenerate_calendar_token"),
                                                ("mentee", "delete_selected")])
def test_admin_action_with_an_id_that_is_not_a_number_is_refused_clearly(world, issued_invoice, model_name, action,
                                                                         value):
    url = changelist_of(model_name)
    before = snapshot()
    mentees_before = list(Mentee.objects.values_list("pk", flat=True))
    rows = mentees_before if model_name == "mentee" else list(_model_rows(model_name))
    assert rows
    # With the real rows selected too: one id that is not one refuses the whole action.
    for index in ("0", None):  # the action bar's button, and a confirmation page's
        data = {"action": action, "_selected_action": [value, *rows]}
        if index is not None:
            data["index"] = index
        response = no_server_error(browser(world.finance).post(url, data), 302)
        assert response.url == url
        assert messages_of(response) == [
            f"The selected {MODELS[model_name][1]} could not be found: the page may be out of date. "
            "Nothing was changed."]
        assert snapshot() == before
        assert list(Mentee.objects.values_list("pk", flat=True)) == mentees_before


@pytest.mark.parametrize("model_name, action", [("invoice", "issue_selected"), ("invoice", "mark_paid"),
                                                ("invoice", "export_lines"), ("paymentstatement", "issue_selected"),
                                                ("paymentstatement", "approve"), ("paymentstatement", "mark_paid"),
                                                ("paymentstatement", "export_payments"),
                                                ("creditnote", "export_lines"), ("outboxemail", "resend"),
                                                ("mentor", "regenerate_calendar_token"),
                                                ("mentee", "delete_selected")])
def test_admin_action_on_ids_that_match_nothing_says_so(world, model_name, action):
    url = changelist_of(model_name)
    before = snapshot()
    mentees_before = list(Mentee.objects.values_list("pk", flat=True))
    for index in ("0", None):
        data = {"action": action, "_selected_action": ["987654"]}
        if index is not None:
            data["index"] = index
        response = no_server_error(browser(world.finance).post(url, data), 302)
        assert response.url == url
        assert messages_of(response) == [nothing_exists(model_name)]
        assert snapshot() == before
        assert list(Mentee.objects.values_list("pk", flat=True)) == mentees_before


DATE_HIERARCHIES = sorted(
    (f"{model._meta.app_label}/{model._meta.model_name}", model_admin.date_hierarchy)
    for model, model_admin in admin.site._registry.items() if model_admin.date_hierarchy
)
BAD_DATE_PARTS = ["99999999999999999999", "10000", "-1", "0", "abc", "", "1e3", "2024.5", "\x00", "９" * 30]


def test_every_admin_list_with_a_date_hierarchy_is_checked():
    assert {"sessions_app/serviceappointment", "invoicing/creditnote", "notifications/outboxemail",
            "axes/accessattempt"} <= {changelist for changelist, _ in DATE_HIERARCHIES}


@pytest.mark.parametrize("changelist, field", DATE_HIERARCHIES)
def test_admin_date_hierarchy_with_a_year_too_big_is_refused_clearly(world, changelist, field):
    """Year, month and day each too big, negative, zero or not a number, and a month or day without a year: the
    whole list again, with a message; and the dates the admin's own links name still work, to the last day."""
    client = browser(UserFactory(email="sam@example.com", is_staff=True, is_superuser=True))
    url = f"/admin/{changelist}/"
    before = snapshot()
    asked = [{"year": bad} for bad in BAD_DATE_PARTS] + [{"year": "2024", "month": bad} for bad in BAD_DATE_PARTS]
    asked += [{"year": "2024", "month": "2", "day": bad} for bad in [*BAD_DATE_PARTS, "30", "32"]]
    asked += [{"year": "9999", "month": "12"}, {"year": "9999", "month": "12", "day": "31"}, {"month": "2"},
              {"day": "3"}, {"month": "99999999999999999999"}]
    for parts in asked:
        response = no_server_error(client.get(url, {f"{field}__{part}": value for part, value in parts.items()}), 302)
        assert response.url == f"{url}?e=1", parts
        assert messages_of(response) == [
            "The list cannot be shown for the date in that address, so it shows every date."], parts
        assert no_server_error(client.get(response.url), 200)
    for parts in [{"year": "2024"}, {"year": "2024", "month": "2"}, {"year": "2024", "month": "2", "day": "29"},
                  {"year": "1", "month": "1", "day": "1"}, {"year": "9998", "month": "12", "day": "31"},
                  {"year": "9999", "month": "11"}]:
        response = no_server_error(client.get(url, {f"{field}__{part}": value for part, value in parts.items()}), 200)
        assert not messages_of(response), parts
    assert snapshot() == before


@pytest.mark.parametrize("term", ["a\x00", "\x00", "ann\x00@example.com"])
def test_admin_autocomplete_with_a_nul_in_the_search_term_answers(world, term):
    """No name or email holds a NUL, so nothing matches (PostgreSQL refuses one in a query)."""
    client = browser(world.finance)
    response = no_server_error(client.get("/admin/autocomplete/", {
        "app_label": "sessions_app", "model_name": "serviceappointment", "field_name": "mentor", "term": term}), 200)
    assert response.json() == {"results": [], "pagination": {"more": False}}
    response = no_server_error(client.get("/admin/autocomplete/", {
        "app_label": "sessions_app", "model_name": "serviceappointment", "field_name": "mentor", "term": "ann"}), 200)
    assert [result["text"] for result in response.json()["results"]] == ["Ann Mentor"]
