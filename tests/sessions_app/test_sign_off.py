"""The mentee's sign-off of a session: the link in their email, the page it opens (no log-in), a dispute going to
Finance, Finance's paper sign-off, and the reminders."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import signing

from invoicing.models import FinanceTicket, OutcomePolicy
from notifications.models import OutboxEmail
from notifications.services.sign_off import sign_off_reminders_send
from sessions_app.models import SessionSignOff
from sessions_app.services import WrapUp, appointment_finance_complete, appointment_wrap_up
from sessions_app.services.sign_off import SALT
from tests.factories import AppointmentFactory, FundingArrangementFactory

LONDON = ZoneInfo("Europe/London")
LINK = re.compile(r"http://testserver(/sign-off/[^/\s]+/)")
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 20, 17, 0, tzinfo=LONDON))


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def session(mentor, mentee):
    start = datetime(2026, 11, 20, 15, 0, tzinfo=LONDON)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(minutes=90))


def wrapped_up(session, user, *, funding, outcome="attended", **answers):
    with_reason = {}
    if outcome == "late_cancellation":
        from sessions_app.models import CancellationReason
        with_reason = {"cancellation_reason": CancellationReason.objects.first(), "cancellation_note": "On the day."}
    return appointment_wrap_up(appointment_id=session.pk, acting_user=user,
                               answers=WrapUp(outcome=outcome, funding_arrangement=funding, **with_reason, **answers))


def mentee_link(mentee) -> str:
    bodies = OutboxEmail.objects.filter(to=[mentee.email]).values_list("text_body", flat=True)
    links = [match.group(1) for body in bodies for match in [LINK.search(body)] if match]
    assert len(links) == 1, bodies
    return links[0]


def test_the_mentee_confirms_by_the_link_in_their_attendance_email_and_the_mentor_sees_it(
        client, mentor, mentee, session, django_capture_on_commit_callbacks, mailoutbox):
    funding = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England")
    with django_capture_on_commit_callbacks(execute=True):
        wrapped_up(session, mentor.user, funding=funding)
    [email] = [m for m in mailoutbox if m.to == [mentee.email]]  # one email: the attendance email carries the link
    assert "Student Finance England pays for your mentoring and asks you to confirm each session" in email.body
    link = mentee_link(mentee)

    page = client.get(link)  # a mail scanner following the link confirms nothing
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    text = page.content.decode()
    assert "Friday 20 November 2026" in text and "15:00–16:30" in text and "1 h 30 min" in text
    assert "Ann Mentor" in text
    assert SessionSignOff.objects.get().state == "pending"

    client.force_login(mentor.user)
    assert "Waiting for the mentee (asked on 20 November 2026)" in client.get(session.get_absolute_url()).content.decode()
    client.logout()

    answered = client.post(link, {"answer": "confirm", "comment": ""}, follow=True)
    assert "Thank you" in answered.content.decode()
    assert "This session was confirmed on 20 November 2026" in answered.content.decode()
    sign_off = SessionSignOff.objects.get()
    assert (sign_off.state, sign_off.how) == ("confirmed", "link")

    again = client.post(link, {"answer": "dispute", "comment": "changed my mind"}, follow=True)  # once only
    assert "Already answered" in again.content.decode()
    assert SessionSignOff.objects.get().state == "confirmed"
    client.force_login(mentor.user)
    assert "Confirmed by the mentee on 20 November 2026" in client.get(session.get_absolute_url()).content.decode()


def test_a_dispute_goes_to_finance_with_the_comment(client, mentor, mentee, session):
    wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
    response = client.post(mentee_link(mentee), {"answer": "dispute", "comment": "It ended at 16:00, not 16:30."})
    assert response.status_code == 302
    ticket = FinanceTicket.objects.get(kind="sign_off_disputed")
    assert ticket.subject == f"{session.reference}: disputed by the mentee"
    assert "It ended at 16:00, not 16:30." in ticket.message
    assert ticket.raised_by == mentor.user  # so Finance's reply reaches the mentor
    client.force_login(mentor.user)
    assert "Disputed by the mentee on 20 November 2026" in client.get(session.get_absolute_url()).content.decode()


def test_no_answer_chosen_is_a_clear_message_and_changes_nothing(client, mentor, mentee, session):
    wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
    response = client.post(mentee_link(mentee), {"comment": "x" * 2001})
    assert response.status_code == 400
    assert "Choose yes or no." in response.content.decode()
    assert "Keep the comment to 2,000 characters or fewer." in response.content.decode()
    assert SessionSignOff.objects.get().state == "pending"


@pytest.mark.parametrize("case", ["self-funded", "missed, not billed"])
def test_sessions_no_funder_is_billed_for_are_not_signed_off(mentor, mentee, session, case):
    if case == "self-funded":
        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee, self_funded=True))
    else:
        OutcomePolicy.objects.filter(funder=None, outcome="did_not_attend").update(billed=False)
        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee), outcome="did_not_attend")
    assert not SessionSignOff.objects.exists()
    assert "/sign-off/" not in OutboxEmail.objects.get(to=[mentee.email]).text_body


def test_a_session_finance_completes_gets_the_link_in_an_email_of_its_own(
        mentor, mentee, session, finance_user):
    wrapped_up(session, mentor.user, funding=None, admin_details="Which funder?")
    assert not SessionSignOff.objects.exists()  # with Finance: nothing to confirm yet
    appointment_finance_complete(appointment_id=session.pk, acting_user=finance_user,
                                 funding_arrangement=FundingArrangementFactory(mentee=mentee), reply="Found it.")
    request = OutboxEmail.objects.get(kind="sign_off_request")
    assert request.subject == f"Please confirm your mentoring session on 20 November 2026 ({session.reference})"
    assert mentee_link(mentee)


class TestTheLink:
    """Expired, reused or tampered: a clear page, never a 500, never another session."""

    def test_tampered_unknown_or_another_sessions_key_is_a_clear_page(self, client, mentor, mentee, session):
        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
        link = mentee_link(mentee)
        other = AppointmentFactory(mentor=mentor, starts_at=session.starts_at - timedelta(days=1),
                                   ends_at=session.starts_at - timedelta(days=1, minutes=-60))
        wrapped_up(other, mentor.user, funding=FundingArrangementFactory(mentee=other.mentee))
        mine, theirs = SessionSignOff.objects.get(appointment=session), SessionSignOff.objects.get(appointment=other)
        forged = [
            link[:-3] + ("A" if link[-3] != "A" else "B") + "/",  # one character of the signature changed
            f"/sign-off/{signing.dumps([theirs.pk, mine.link_key], salt=SALT)}/",  # their id, my key
            f"/sign-off/{signing.dumps([theirs.pk, theirs.link_key], salt='another purpose')}/",
            f"/sign-off/{signing.dumps({'id': theirs.pk}, salt=SALT)}/",
            "/sign-off/" + "x" * 400 + "/",
            "/sign-off/%00/",
        ]
        for address in forged:
            response = client.get(address)
            assert response.status_code == 404, address
            assert "This link does not work" in response.content.decode()
            assert other.reference not in response.content.decode() and session.reference not in response.content.decode()
            assert client.post(address, {"answer": "confirm"}).status_code == 404
        assert SessionSignOff.objects.filter(state="pending").count() == 2

    def test_an_expired_link_is_a_clear_page(self, client, mentor, mentee, session, time_machine, settings):
        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
        link = mentee_link(mentee)
        time_machine.move_to(datetime(2026, 11, 20, 17, 0, tzinfo=LONDON) + timedelta(days=settings.SIGN_OFF_LINK_DAYS,
                                                                                        minutes=1))
        response = client.post(link, {"answer": "confirm"})
        assert response.status_code == 410
        assert "This link has expired" in response.content.decode()
        assert session.reference not in response.content.decode()
        assert SessionSignOff.objects.get().state == "pending"

    def test_a_paper_sign_off_makes_the_emailed_link_useless(self, client, mentor, mentee, session, finance_user):
        from sessions_app.services import sign_off_record_paper

        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
        link = mentee_link(mentee)
        sign_off_record_paper(appointment_id=session.pk, acting_user=finance_user, confirmed=True,
                              reason="Signed timesheet received by post")
        assert client.get(link).status_code == 404


class TestPaperSignOff:
    def test_finance_records_one_with_a_reason_and_the_history_keeps_it(self, client, mentor, mentee, session,
                                                                         finance_client, finance_user):
        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
        change = f"/admin/sessions_app/serviceappointment/{session.pk}/change/"
        assert 'id="paper-sign-off"' in finance_client.get(change).content.decode()
        url = f"/admin/sessions_app/serviceappointment/{session.pk}/paper-sign-off/"
        refused = finance_client.post(url, {"answer": "confirm", "reason": "  "})
        assert "Say why you are recording it by hand." in refused.content.decode()
        done = finance_client.post(url, {"answer": "confirm", "reason": "Signed timesheet received by post"},
                                   follow=True)
        assert f"{session.reference}: Confirmed by the mentee on 20 November 2026 on paper (recorded by Finance)." \
            in done.content.decode()
        sign_off = SessionSignOff.objects.get()
        assert (sign_off.state, sign_off.how, sign_off.recorded_by) == ("confirmed", "paper", finance_user)
        assert sign_off.history.latest().history_user == finance_user
        assert session.events.filter(description__contains="On paper, recorded by Finance: Signed timesheet").exists()
        assert 'id="paper-sign-off"' not in finance_client.get(change).content.decode()  # confirmed: nothing to do

    def test_it_needs_its_own_permission(self, mentor, mentee, session, finance_user, client):
        from django.contrib.auth.models import Permission

        wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
        finance_user.groups.first().permissions.remove(Permission.objects.get(codename="record_paper_sign_off"))
        client.force_login(finance_user)
        url = f"/admin/sessions_app/serviceappointment/{session.pk}/paper-sign-off/"
        assert client.post(url, {"answer": "confirm", "reason": "Paper"}).status_code == 403
        assert SessionSignOff.objects.get().state == "pending"


def test_reminders_three_days_after_and_in_the_months_last_three_days_once_each(mentor, mentee, session,
                                                                                time_machine):
    wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))  # asked on 20 November
    def run(day):
        time_machine.move_to(datetime(2026, 11, day, 9, 0, tzinfo=LONDON))
        return sign_off_reminders_send(), sign_off_reminders_send()  # twice: the second sends nothing

    assert run(22) == (0, 0)
    assert run(23) == (1, 0)
    assert run(27) == (0, 0)
    assert run(28) == (1, 0)  # the month's last three days
    assert run(30) == (0, 0)
    reminders = OutboxEmail.objects.filter(kind="sign_off_reminder").order_by("pk")
    assert [r.subject for r in reminders] == [
        f"Reminder: please confirm your mentoring session on 20 November 2026 ({session.reference})"] * 2
    assert "Please answer before the end of the month." in reminders[1].text_body
    assert LINK.search(reminders[1].text_body)


def test_no_reminder_once_answered(client, mentor, mentee, session, time_machine):
    wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
    client.post(mentee_link(mentee), {"answer": "confirm"})
    time_machine.move_to(datetime(2026, 11, 29, 9, 0, tzinfo=LONDON))
    assert sign_off_reminders_send() == 0


def test_a_reopened_session_is_asked_again_and_the_old_link_stops_working(client, mentor, mentee, session,
                                                                            finance_user):
    from sessions_app.services import appointment_reopen

    wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee))
    link = mentee_link(mentee)
    client.post(link, {"answer": "confirm"})
    appointment_reopen(appointment_id=session.pk, acting_user=finance_user, reason="Wrong session wrapped up.")
    sign_off = SessionSignOff.objects.get()
    assert (sign_off.state, sign_off.answered_at) == ("pending", None)
    assert client.get(link).status_code == 404
    assert sign_off.history.filter(state="confirmed").exists()  # the earlier answer is kept
    wrapped_up(session, mentor.user, funding=FundingArrangementFactory(mentee=mentee, self_funded=True))
    assert not SessionSignOff.objects.exists()  # self-funded now: nothing to confirm, no reminders


def test_a_correction_to_what_the_mentee_confirmed_asks_them_again_and_one_to_the_notes_does_not(
        client, mentor, mentee, session, finance_user):
    from sessions_app.services import appointment_correct

    funding = FundingArrangementFactory(mentee=mentee)
    wrapped_up(session, mentor.user, funding=funding, session_notes="Essay plan.")
    link = mentee_link(mentee)
    client.post(link, {"answer": "confirm"})
    appointment_correct(appointment_id=session.pk, acting_user=finance_user, reason="Typo.",
                        session_notes="Essay plan, part 2.")
    assert SessionSignOff.objects.get().state == "confirmed"  # the notes were never the mentee's to confirm

    appointment_correct(appointment_id=session.pk, acting_user=finance_user, reason="It ended early.",
                        actual_minutes=45)
    sign_off = SessionSignOff.objects.get()
    assert (sign_off.state, sign_off.answered_at) == ("pending", None)
    assert client.get(link).status_code == 404  # the link to the old duration no longer answers
    assert sign_off.history.first().history_change_reason == "The wrap-up was corrected"

    appointment_correct(appointment_id=session.pk, acting_user=finance_user, reason="Self-funded after all.",
                        funding_arrangement=FundingArrangementFactory(mentee=mentee, self_funded=True))
    assert not SessionSignOff.objects.exists()  # no funder to show it to: nothing waits for the mentee
