"""Bad input to the personal-data forms (see tests/test_hostile_input.py for the rules): the erasure's reason and
the withheld note's session and reason. Never a server error, a message saying what is wrong, nothing written."""

from datetime import timedelta

from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from privacy.models import Erasure, WithheldNote
from sessions_app.models import Mentee
from sessions_app.services import appointment_cancel
from tests.strategies import examples, form_data, hostile_text, huge_text, last, posted
from tests.test_hostile_input import (  # noqa: F401 (world is a fixture)
    browser,
    char_field_problem,
    no_server_error,
    rolled_back,
    text_of,
    world,
)


def erasure_state():
    return list(Mentee.objects.order_by("pk").values_list("full_name", "email")), Erasure.objects.count()


@given(reason=posted(st.one_of(hostile_text, huge_text(), st.just("Priya Pupil called"))))
@examples(25)
def test_the_erasure_reason_says_what_is_wrong(world, reason):
    url = reverse("admin:sessions_app_mentee_changelist")
    mentee = world.foreign.mentee  # Priya Pupil, with no session still to come
    with rolled_back():
        before = erasure_state()
        response = no_server_error(browser(world.finance).post(url, form_data({
            "action": "erase_person", "_selected_action": str(mentee.pk), "index": "0",
            "confirm_erasure": "yes", "reason": reason})), 200, 302)
        problem = char_field_problem(reason, required_message="Say why this person is erased.", max_length=2000)
        if problem is None and "priya pupil" in last(reason).lower():
            problem = "The reason must not contain the person's name or contact details"
        if problem:
            assert response.status_code == 200 and problem in text_of(response)
            assert erasure_state() == before
            return
        assert response.status_code == 302
        assert Erasure.objects.get().reason == last(reason).strip()
        assert Mentee.objects.get(pk=mentee.pk).full_name == f"Erased mentee {mentee.pk}"


@given(session=posted(st.one_of(hostile_text, st.sampled_from(["cancelled", "not cancelled"]))),
       reason=posted(hostile_text))
@examples(25)
def test_withholding_a_note_says_what_is_wrong(world, session, reason):
    cancelled = world.their_future
    if not cancelled.cancellation_note:
        appointment_cancel(appointment_id=cancelled.pk, acting_user=world.other_mentor.user, reason=world.reason,
                           internal_note="Private.", now=cancelled.starts_at - timedelta(days=2))
        cancelled.refresh_from_db()
    names = {"cancelled": cancelled.reference, "not cancelled": world.done.reference}
    if isinstance(session, list):
        session = [*session[:-1], names.get(session[-1], session[-1])]
    elif session is not None:
        session = names.get(session, session)
    with rolled_back():
        response = no_server_error(browser(world.finance).post(
            reverse("admin:privacy_withheldnote_add"), form_data({"session": session, "reason": reason})), 200, 302)
        page = text_of(response)
        typed = (last(session) or "").strip()
        session_problem = char_field_problem(session, required_message="Enter the session's reference, e.g. "
                                                                       "SA-000123.", max_length=20)
        if session_problem is None:
            if typed.upper() == world.done.reference:
                session_problem = f"{world.done.reference} has no internal cancellation note to withhold."
            elif typed.upper() != cancelled.reference:
                session_problem = f"There is no session {typed.upper()}."
        reason_problem = char_field_problem(reason, required_message="This field is required.")
        if session_problem is None and reason_problem is None:
            assert response.status_code == 302
            assert WithheldNote.objects.get().reason == last(reason).strip()
            return
        assert response.status_code == 200 and not WithheldNote.objects.exists()
        for problem in (session_problem, reason_problem):
            if problem:
                assert problem in page
