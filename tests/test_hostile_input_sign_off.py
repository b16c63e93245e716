"""Bad input to the mentee's sign-off (issue 18): hostile, altered and oversized links, hostile answers and comments
posted to a valid link, and Finance's paper sign-off form. As in tests/test_hostile_input.py: never a server error,
a message the person can act on, nothing written when the input is refused, and a bad link never shows a session."""

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from invoicing.models import FinanceTicket
from sessions_app.models import SessionSignOff
from sessions_app.services import WrapUp, appointment_wrap_up
from sessions_app.services.sign_off import sign_off_token
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.strategies import examples, form_data, hostile_text, last, posted, short_hostile_text
from tests.test_hostile_input import browser, no_server_error, rolled_back, text_of

pytestmark = pytest.mark.django_db
ANSWER_MESSAGES = ["Choose yes or no.", "Keep the comment to 2,000 characters or fewer.",
                   "Null characters are not allowed."]
PAPER_MESSAGES = ["Choose whether the mentee confirmed or disputed the session.", "Say why you are recording it by hand",
                  "Keep the reason to 1,000 characters or fewer.", "Keep the comment to 2,000 characters or fewer.",
                  "Null characters are not allowed.", "Select a valid choice."]
answers = st.one_of(short_hostile_text, st.sampled_from(["confirm", "dispute", "CONFIRM", "confirm\x00", ""]))


@pytest.fixture
def session(mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start)
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                               answers=WrapUp(outcome="attended",
                                              funding_arrangement=FundingArrangementFactory(mentee=mentee)))


def sign_off_rows():
    return list(SessionSignOff.objects.order_by("pk").values_list("state", "answered_at", "comment", "link_key"))


@given(token=st.one_of(hostile_text, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789:-_", max_size=120)),
       cut=st.integers(0, 200), method=st.sampled_from(["get", "post"]))
@example(token="", cut=0, method="get")
@example(token="x" * 100_000, cut=0, method="post")
@example(token="valid", cut=1, method="post")  # the valid link with its last character dropped
@examples(25)
def test_a_hostile_or_altered_link_is_a_clear_page_and_shows_no_session(session, token, cut, method):
    valid = sign_off_token(session.sign_off)
    if token == "valid":
        token = valid[:-cut] if cut else valid
    elif cut % 3 == 0:
        token = valid[:cut % len(valid)] + token  # a real beginning, something else after it
    client = browser()
    with rolled_back():
        before = sign_off_rows()
        url = f"/sign-off/{quote(token, safe='')}/"
        response = getattr(client, method)(url, form_data({"answer": "confirm"}) if method == "post" else None)
        no_server_error(response, 404, 410, 302, 200)
        if token != valid:
            assert response.status_code in (404, 410)
            assert session.reference not in text_of(response)
            assert sign_off_rows() == before
            if token and token.isascii() and token.isprintable() and "/" not in token:  # reaches the sign-off page
                assert "This link does not work" in text_of(response) or "This link has expired" in text_of(response)


@given(answer=posted(answers), comment=posted(hostile_text))
@example(answer="dispute", comment="Ended at 16:00\r\n<script>alert(1)</script>")
@example(answer="confirm", comment="\x00")
@example(answer=None, comment="x" * 2001)
@examples(25)
def test_an_answer_says_what_is_wrong_and_saves_only_a_valid_one(session, answer, comment):
    client = browser()
    url = f"/sign-off/{sign_off_token(session.sign_off)}/"
    with rolled_back():
        before = sign_off_rows()
        response = no_server_error(client.post(url, form_data({"answer": answer, "comment": comment})), 302, 400)
        if response.status_code == 302:
            sign_off = SessionSignOff.objects.get()
            assert sign_off.state == {"confirm": "confirmed", "dispute": "disputed"}[last(answer)]
            assert "\x00" not in sign_off.comment and len(sign_off.comment) <= 2000
            assert sign_off.comment == sign_off.comment.strip()
            assert FinanceTicket.objects.filter(kind="sign_off_disputed").exists() is (sign_off.state == "disputed")
        else:
            page = text_of(response)
            assert any(message in page for message in ANSWER_MESSAGES), page[-2000:]
            assert session.reference in page  # the same session's form again, with the message
            assert sign_off_rows() == before


@given(answer=posted(answers), reason=posted(hostile_text), comment=posted(hostile_text))
@example(answer="confirm", reason="Signed timesheet", comment=None)
@example(answer="dispute", reason="   ", comment="x")
@examples(20)
def test_the_paper_sign_off_form_says_what_is_wrong_and_records_only_a_valid_one(session, finance_user, answer,
                                                                                 reason, comment):
    client = browser(finance_user)
    url = f"/admin/sessions_app/serviceappointment/{session.pk}/paper-sign-off/"
    with rolled_back():
        before = sign_off_rows()
        response = no_server_error(client.post(url, form_data({"answer": answer, "reason": reason,
                                                               "comment": comment})), 200, 302)
        if response.status_code == 302:
            sign_off = SessionSignOff.objects.get()
            assert (sign_off.how, sign_off.recorded_by) == ("paper", finance_user)
            assert sign_off.reason and sign_off.reason == sign_off.reason.strip() and "\x00" not in sign_off.reason
        else:
            page = text_of(response)
            assert any(message in page for message in PAPER_MESSAGES), page[-2000:]
            assert sign_off_rows() == before
