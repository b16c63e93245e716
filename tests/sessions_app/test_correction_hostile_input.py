"""Hostile input to the forms that correct a wrap-up (Senior Leadership's page, the admin's correct and reopen pages):
never a server error, a message the user can act on, nothing written when the input is refused."""

from urllib.parse import quote

import pytest
from django.urls import reverse
from hypothesis import assume, given
from hypothesis import strategies as st

from invoicing.models import SessionCreditNote, StatementAdjustment
from sessions_app.models import AppointmentEvent, ServiceAppointment
from sessions_app.services.corrections import (
    CORRECTION_OUTCOMES,
    NOTHING_CHANGED,
    REASON_MISSING,
    REOPEN_REASON_MISSING,
)
from tests.strategies import (
    examples,
    form_data,
    hostile_id,
    hostile_text,
    huge_text,
    last,
    posted,
    short_hostile_text,
)
from tests.test_hostile_input import (  # noqa: F401 (world is a fixture)
    NULL,
    as_int,
    browser,
    char_field_problem,
    messages_of,
    no_server_error,
    rolled_back,
    snapshot,
    text_of,
    world,
)

Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status
OUTCOMES = [value for value, _ in CORRECTION_OUTCOMES]
REASON_TOO_LONG = "Keep the reason to 1000 characters or fewer."


def everything() -> dict:
    return {**snapshot(), "corrections": AppointmentEvent.objects.filter(kind__in=["corrected", "reopened"]).count(),
            "session credit notes": SessionCreditNote.objects.count(),
            "adjustments": StatementAdjustment.objects.count()}


def reason_problem(reason, missing=REASON_MISSING):
    return char_field_problem(reason, required_message=missing, max_length=1000, max_length_message=REASON_TOO_LONG)


def notes_problem(notes):
    value = (last(notes) or "").strip()
    if len(value) > 10000:
        return "Keep the session notes to 10000 characters or fewer."
    if "\x00" in value:
        return NULL
    return None


@given(outcome=posted(st.one_of(st.sampled_from(OUTCOMES), short_hostile_text)),
       notes=posted(st.one_of(st.just("Notes"), hostile_text)),
       reason=posted(st.one_of(st.just("The mentor chose the wrong outcome."), hostile_text, huge_text(200, 400))))
@examples(60)
def test_senior_leaderships_correction_says_what_is_wrong_and_writes_nothing_then(world, outcome, notes, reason):
    url = reverse("appointment-correct", args=[world.done.reference])
    with rolled_back():
        before = everything()
        response = no_server_error(browser(world.leader).post(
            url, form_data({"outcome": outcome, "session_notes": notes, "reason": reason})), 200, 302)
        chosen = last(outcome)
        problems = [problem for problem in (
            None if chosen in OUTCOMES else "Choose what happened in the session.",
            notes_problem(notes), reason_problem(reason)) if problem]
        if chosen == Outcome.LATE_CANCELLATION and not problems:  # it needs a reason from the list and a note
            problems = ["Choose a cancellation reason from the list.",
                        "Add an internal cancellation note (it is not shared in any attendance emails)."]
        unchanged = chosen == Outcome.ATTENDED and (last(notes) or "").strip() == "Notes"
        if response.status_code == 200:
            page = text_of(response)
            assert everything() == before
            expected = problems or ([NOTHING_CHANGED] if unchanged else [])
            assert expected, page[:3000]
            for problem in expected:
                assert problem in page
            return
        assert chosen in OUTCOMES and not problems and not unchanged
        event = world.done.events.get(kind=AppointmentEvent.Kind.CORRECTED)
        assert event.actor == world.leader and event.description.endswith(f"Why: {last(reason).strip()}")
        assert messages_of(response) == [f"The wrap-up of {world.done.reference} is corrected."]


@given(funding=posted(st.one_of(hostile_id, st.sampled_from(["valid", "expired", "foreign", "none"]))),
       minutes=posted(st.one_of(hostile_id, st.sampled_from(["", "45", "4", "481", "60"]))),
       reason=posted(st.one_of(st.just("Finance's correction."), hostile_text)))
@examples(60)
def test_finances_correction_says_what_is_wrong_and_writes_nothing_then(world, funding, minutes, reason):
    names = {"valid": str(world.funded.pk), "expired": str(world.expired.pk), "foreign": str(world.foreign.pk),
             "none": ""}
    if isinstance(funding, str) and funding in names:
        funding = names[funding]
    url = reverse("admin:sessions_app_serviceappointment_correct_wrap_up", args=[world.done.pk])
    with rolled_back():
        before = everything()
        response = no_server_error(browser(world.finance).post(url, form_data({
            "outcome": Outcome.DID_NOT_ATTEND, "funding_arrangement": funding, "actual_minutes": minutes,
            "session_notes": "Notes", "reason": reason})), 200, 302)
        if response.status_code == 200:
            assert everything() == before
            page = text_of(response)
            assert "Please correct the errors below." in page
            problem = reason_problem(reason)
            if problem:
                assert problem in page
            return
        world.done.refresh_from_db()
        assert world.done.outcome == Outcome.DID_NOT_ATTEND
        assert world.done.funding_arrangement_id in (world.funded.pk, world.expired.pk)
        assert world.done.actual_minutes is None or 5 <= world.done.actual_minutes <= 480
        assert world.done.events.filter(kind=AppointmentEvent.Kind.CORRECTED).count() == 1
        assert not reason_problem(reason)


@given(reason=posted(st.one_of(hostile_text, huge_text(200, 400))))
@examples(30)
def test_reopening_needs_a_reason_and_says_so(world, reason):
    url = reverse("admin:sessions_app_serviceappointment_reopen", args=[world.done.pk])
    with rolled_back():
        before = everything()
        response = no_server_error(browser(world.finance).post(url, form_data({"reason": reason})), 200, 302)
        problem = reason_problem(reason, REOPEN_REASON_MISSING)
        if problem:
            assert response.status_code == 200 and problem in text_of(response)
            assert everything() == before
            return
        assert response.status_code == 302
        assert ServiceAppointment.objects.get(pk=world.done.pk).status == Status.SCHEDULED


@given(object_id=st.one_of(hostile_id, short_hostile_text))
@examples(30)
def test_correct_and_reopen_pages_for_made_up_ids_and_references_are_not_there(world, object_id):
    assume(as_int(object_id) is None or not ServiceAppointment.objects.filter(pk=as_int(object_id)).exists())
    assume(object_id.strip() not in ("", ".", ".."))
    quoted = quote(object_id, safe="")
    with rolled_back():
        before = everything()
        finance = browser(world.finance)
        for url in (f"/admin/sessions_app/serviceappointment/{quoted}/correct-wrap-up/",
                    f"/admin/sessions_app/serviceappointment/{quoted}/reopen/"):
            response = no_server_error(finance.post(url, {"reason": "x", "outcome": "attended"}), 302, 404)
            if response.status_code == 302:
                assert "doesn’t exist. Perhaps it was deleted?" in " ".join(messages_of(response))
        response = no_server_error(browser(world.leader).post(
            f"/appointments/{quoted}/correct/", {"reason": "x", "outcome": "attended"}), 404, 301, 302)
        assert everything() == before


def test_another_mentors_session_is_not_found_for_a_mentor_and_the_form_is_refused(world):
    for user in (world.mentor.user, world.other_mentor.user):
        response = no_server_error(browser(user).post(reverse("appointment-correct", args=[world.done.reference]),
                                                      {"outcome": "cancelled", "reason": "x"}), 404)
        assert response.status_code == 404
    assert not world.done.events.filter(kind=AppointmentEvent.Kind.CORRECTED).exists()
