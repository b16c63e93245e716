"""A mentor who cannot wrap up tells Senior Leadership the status of each session; and Finance's replies on the homepage."""

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import FinanceTicket
from notifications.models import OutboxEmail
from sessions_app import roles
from invoicing.services import ticket_raise, ticket_reply
from sessions_app.models import CancellationReason, ServiceAppointment, WrapUpRequest
from sessions_app.services import WrapUp, appointment_wrap_up, appointments_wrap_up_for_mentor, wrap_up_request_submit
from tests.factories import AppointmentFactory, UserFactory

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome
URL = "/wrap-up-request/"


def hours_ago(hours):
    return timezone.now().replace(microsecond=0) - timedelta(hours=hours)


def session(mentor, hours):
    return AppointmentFactory(mentor=mentor, starts_at=hours_ago(hours), ends_at=hours_ago(hours) + timedelta(hours=1))


def text(response):
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode())))


def today():
    return date_format(timezone.localdate(), "j F Y")


class TestAskingFromTheHomepage:
    def test_homepage_offers_it_in_the_still_to_wrap_up_section(self, mentor_client, mentor):
        session(mentor, 5)
        html = mentor_client.get("/").content.decode()
        section = html.split('id="to-wrap-up"')[1].split("</section>")[0]
        assert f'href="{URL}">Can\'t wrap up? Tell Senior Leadership</a>' in section

    def test_senior_leadership_are_not_offered_it_and_cannot_open_it(self, leader_client, mentor):
        session(mentor, 5)
        assert "Tell Senior Leadership" not in leader_client.get("/").content.decode()
        assert leader_client.get(URL).status_code == 404

    def test_the_page_lists_my_sessions_to_wrap_up_with_a_status_each(self, mentor_client, mentor, other_mentor):
        older, newer = session(mentor, 50), session(mentor, 5)
        theirs = session(other_mentor, 6)
        future = AppointmentFactory(mentor=mentor)
        response = mentor_client.get(URL)
        html = response.content.decode()
        assert re.findall(r'class="sa-link" href="/appointments/(SA-\d+)/"', html) == [older.reference, newer.reference]
        assert theirs.reference not in html and future.reference not in html
        select = html.split(f'name="outcome_{older.pk}"')[1].split("</select>")[0]
        assert re.findall(r">([^<]+)</option>", select) == [
            "Not included", "Attended", "Cancelled", "Late-notice cancellation", "Did not attend"]

    def test_sending_it_makes_a_request_the_mentor_sees_waiting(self, mentor_client, mentor):
        attended, cancelled, left_out = session(mentor, 50), session(mentor, 30), session(mentor, 5)
        response = mentor_client.post(URL, {
            f"outcome_{attended.pk}": Outcome.ATTENDED, f"outcome_{cancelled.pk}": Outcome.CANCELLED,
            f"outcome_{left_out.pk}": "", "message": "Laptop stolen; cannot log in to wrap up.",
        })
        assert response.status_code == 302 and response.url == "/"
        request = WrapUpRequest.objects.get()
        assert (request.mentor, request.status, request.message) == (
            mentor, WrapUpRequest.Status.OPEN, "Laptop stolen; cannot log in to wrap up.")
        assert [(item.appointment, item.outcome) for item in request.items.all()] == [
            (attended, "attended"), (cancelled, "cancelled")]
        for appointment in (attended, cancelled, left_out):
            appointment.refresh_from_db()
            assert appointment.status == Status.SCHEDULED  # only Senior Leadership wrap up

        home = mentor_client.get("/")
        assert "Your request is with Senior Leadership." in text(home)
        requests = html_lib.unescape(home.content.decode().split('id="requests"')[1].split("</section>")[0])
        requests = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", requests))
        assert f"Waiting for Senior Leadership since {today()}" in requests
        assert f"{attended.reference} Attended, {cancelled.reference} Cancelled" in requests
        assert left_out.reference not in requests

    def test_sending_again_updates_the_one_open_request(self, mentor_client, mentor):
        first, second = session(mentor, 50), session(mentor, 30)
        mentor_client.post(URL, {f"outcome_{first.pk}": Outcome.ATTENDED, "message": "First go"})
        page = mentor_client.get(URL)
        assert page.context["form"][f"outcome_{first.pk}"].value() == Outcome.ATTENDED
        assert page.context["form"]["message"].value() == "First go"
        assert "Sending this again replaces that request." in text(page)

        mentor_client.post(URL, {f"outcome_{first.pk}": Outcome.DID_NOT_ATTEND,
                                 f"outcome_{second.pk}": Outcome.LATE_CANCELLATION,
                                 f"reason_{second.pk}": CancellationReason.objects.first().pk,
                                 f"internal_note_{second.pk}": "Texted at 8.", "message": "Second go"})
        request = WrapUpRequest.objects.get()
        assert request.message == "Second go"
        assert [(item.appointment, item.outcome) for item in request.items.all()] == [
            (first, "did_not_attend"), (second, "late_cancellation")]

    def test_after_senior_leadership_have_done_it_a_new_request_can_be_sent(self, mentor, leader):
        first, second = session(mentor, 50), session(mentor, 30)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="", items=[(first.pk, "attended")])
        appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader, choices=[(first.pk, "cancelled", "")])
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="", items=[(second.pk, "attended")])
        assert sorted(WrapUpRequest.objects.values_list("status", flat=True)) == ["done", "open"]


class TestSeniorLeadershipAreTold:
    def test_sending_it_emails_senior_leadership_what_happened_in_each_session(
        self, mentor_client, mentor, leader, finance_user, mailoutbox, django_capture_on_commit_callbacks
    ):
        other_leader = UserFactory(full_name="Sam Senior", email="sam@example.com", roles=[roles.SENIOR_LEADERSHIP])
        attended, cancelled = session(mentor, 50), session(mentor, 30)
        with django_capture_on_commit_callbacks(execute=True):
            mentor_client.post(URL, {f"outcome_{attended.pk}": Outcome.ATTENDED,
                                     f"outcome_{cancelled.pk}": Outcome.CANCELLED,
                                     "message": "Laptop stolen; cannot log in to wrap up."})
        (email,) = mailoutbox
        assert sorted(email.to) == [leader.email, other_leader.email]  # not Finance, not the mentor
        assert email.subject == "Ann Mentor asks you to wrap up 2 sessions"
        starts = [date_format(timezone.localtime(a.starts_at), "D j M Y, H:i") for a in (attended, cancelled)]
        assert (f"Ann Mentor cannot wrap up these sessions and asks you to do it for them. What they say happened:\n\n"
                f"- {attended.reference}: {attended.mentee.full_name}, {starts[0]}: Attended\n"
                f"- {cancelled.reference}: {cancelled.mentee.full_name}, {starts[1]}: Cancelled (did not take place)\n"
                "\nTheir message:\nLaptop stolen; cannot log in to wrap up.\n") in email.body
        assert f"Wrap them up from Ann Mentor's list: http://127.0.0.1:8000/mentors/{mentor.pk}/wrap-up/" in email.body
        assert OutboxEmail.objects.get().kind == OutboxEmail.Kind.WRAP_UP_REQUEST

    def test_sending_the_same_again_tells_them_once_and_a_change_tells_them_again(self, mentor, leader):
        first, second = session(mentor, 50), session(mentor, 30)
        send = lambda items, message="": wrap_up_request_submit(  # noqa: E731
            mentor=mentor, acting_user=mentor.user, message=message, items=items)
        send([(first.pk, "attended")])
        send([(first.pk, "attended")])
        assert OutboxEmail.objects.filter(kind="wrap_up_request").count() == 1
        send([(first.pk, "attended"), (second.pk, "did_not_attend")])
        assert list(OutboxEmail.objects.filter(kind="wrap_up_request").order_by("pk").values_list("subject", flat=True)) == [
            "Ann Mentor asks you to wrap up 1 session", "Ann Mentor asks you to wrap up 2 sessions"]

    def test_the_request_shows_on_senior_leaderships_homepage_until_it_is_done(
        self, client, mentor, other_mentor, leader
    ):
        first, second = session(mentor, 50), session(mentor, 30)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="Laptop stolen.",
                               items=[(first.pk, "attended"), (second.pk, "attended")])
        client.force_login(leader)
        response = client.get("/")
        section = response.content.decode().split('id="requests-from-mentors"')[1].split("</section>")[0]
        assert f'<a href="/mentors/{mentor.pk}/wrap-up/"><strong>Ann Mentor</strong></a>' in section
        when = date_format(timezone.localtime(WrapUpRequest.objects.get().created_at), "j F Y, H:i")
        assert (f"Wrap-up requests from mentors 1 Mentors who cannot wrap up have said what happened in each session: "
                f"wrap them up from their list. Ann Mentor: 2 sessions, waiting since {when} · “Laptop stolen.”"
                ) in text(response)

        appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader,
                                        choices=[(first.pk, "cancelled", ""), (second.pk, "cancelled", "")])
        assert "Wrap-up requests from mentors" not in text(client.get("/"))

    def test_mentors_do_not_see_other_mentors_requests(self, mentor_client, mentor, other_mentor):
        theirs = session(other_mentor, 50)
        wrap_up_request_submit(mentor=other_mentor, acting_user=other_mentor.user, message="",
                               items=[(theirs.pk, "attended")])
        assert "Wrap-up requests from mentors" not in text(mentor_client.get("/"))


class TestRefusals:
    def test_no_session_chosen(self, mentor_client, mentor):
        appointment = session(mentor, 5)
        response = mentor_client.post(URL, {f"outcome_{appointment.pk}": "", "message": "Help"})
        assert response.status_code == 200
        assert ("Choose the status of at least one session, so Senior Leadership know what happened."
                in text(response))
        assert not WrapUpRequest.objects.exists()

    def test_a_session_that_is_not_mine(self, mentor_client, mentor, other_mentor):
        mine, theirs = session(mentor, 5), session(other_mentor, 5)
        response = mentor_client.post(URL, {f"outcome_{mine.pk}": "attended", f"outcome_{theirs.pk}": "attended"})
        page = text(response)
        assert "One of the sessions you chose is not one of your sessions." in page
        assert theirs.reference not in page
        assert not WrapUpRequest.objects.exists()

    def test_a_session_already_wrapped_up(self, mentor_client, mentor):
        appointment = session(mentor, 5)
        mentor_client.get(URL)
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                            answers=WrapUp(outcome="attended", admin_details="Which funding?"))
        response = mentor_client.post(URL, {f"outcome_{appointment.pk}": "attended"})
        assert f"{appointment.reference} does not need wrapping up: it is Awaiting Finance." in text(response)
        assert not WrapUpRequest.objects.exists()

    def test_a_session_that_has_not_started(self, mentor, future_appointment):
        with pytest.raises(ValidationError) as problem:
            wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="",
                                   items=[(future_appointment.pk, "attended")])
        assert problem.value.messages == [
            f"{future_appointment.reference} has not started yet, so there is nothing to wrap up. "
            "If it will not take place, cancel it instead."]

    def test_an_unknown_status(self, mentor_client, mentor):
        appointment = session(mentor, 5)
        response = mentor_client.post(URL, {f"outcome_{appointment.pk}": "completed"})
        assert f"Choose the status of {appointment.reference} from the list." in text(response)
        assert not WrapUpRequest.objects.exists()

    def test_only_the_mentor_can_send_it(self, mentor, leader):
        from django.core.exceptions import PermissionDenied

        appointment = session(mentor, 5)
        with pytest.raises(PermissionDenied):
            wrap_up_request_submit(mentor=mentor, acting_user=leader, message="", items=[(appointment.pk, "attended")])


class TestFinanceReplies:
    def test_homepage_shows_replies_to_my_tickets_from_the_last_30_days(
        self, mentor_client, mentor, other_mentor, finance_user, past_appointment
    ):
        answered = ticket_raise(raised_by=mentor.user, appointment=past_appointment,
                                subject="Which funding applies?", message="Two arrangements.")
        ticket_reply(ticket_id=answered.pk, acting_user=finance_user, reply="Use the university's PO-77.")
        unanswered = ticket_raise(raised_by=mentor.user, subject="Still waiting", message="?")
        old = ticket_raise(raised_by=mentor.user, subject="Long ago", message="?")
        ticket_reply(ticket_id=old.pk, acting_user=finance_user, reply="Old answer")
        FinanceTicket.objects.filter(pk=old.pk).update(replied_at=timezone.now() - timedelta(days=31))
        someone_elses = ticket_raise(raised_by=other_mentor.user, subject="Not yours", message="?")
        ticket_reply(ticket_id=someone_elses.pk, acting_user=finance_user, reply="Private answer")

        response = mentor_client.get("/")
        html = response.content.decode()
        section = html.split('id="finance-replies"')[1].split("</section>")[0]
        assert f'class="sa-link" href="{past_appointment.get_absolute_url()}">{past_appointment.reference}<' in section
        page = text(response)
        assert "Replies from Finance" in page
        for shown in ("Which funding applies?", "Use the university's PO-77.", "Fay Finance"):
            assert shown in page
        for hidden in (unanswered.subject, "Old answer", "Private answer", "Not yours"):
            assert hidden not in page

    def test_no_replies_no_section(self, mentor_client, mentor):
        ticket_raise(raised_by=mentor.user, subject="Pending", message="?")
        assert "Replies from Finance" not in mentor_client.get("/").content.decode()

    def test_homepage_shows_replies_to_tickets_others_raised_about_my_sessions(
        self, mentor_client, mentor, leader, finance_user, past_appointment
    ):
        ticket = ticket_raise(raised_by=leader, appointment=past_appointment, subject="Which funding applies?",
                              message="Two arrangements.")
        ticket_reply(ticket_id=ticket.pk, acting_user=finance_user, reply="Use the university's PO-77.")
        page = text(mentor_client.get("/"))
        assert (f"Which funding applies? · {past_appointment.reference} · logged by Lee Leader "
                "Use the university's PO-77. Fay Finance") in page

    def test_senior_leadership_see_replies_to_their_own_tickets(self, leader_client, leader, finance_user):
        ticket = ticket_raise(raised_by=leader, subject="Invoice query", message="?")
        ticket_reply(ticket_id=ticket.pk, acting_user=finance_user, reply="Sorted.")
        page = text(leader_client.get("/"))
        assert "Invoice query" in page and "Sorted." in page


def test_homepage_query_count_stays_the_same_with_many_requests_and_replies(client, mentor, leader, finance_user):
    client.force_login(mentor.user)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/").status_code == 200
        return len(ctx.captured_queries)

    def add(n, done=True):
        appointments = [session(mentor, 10 + len(added) + i) for i in range(n)]
        added.extend(appointments)
        for appointment in appointments:
            ticket = ticket_raise(raised_by=mentor.user, appointment=appointment, subject="Q", message="?")
            ticket_reply(ticket_id=ticket.pk, acting_user=finance_user, reply="A")
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="",
                               items=[(a.pk, "attended") for a in appointments])
        if done:
            appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader,
                                            choices=[(a.pk, "cancelled", "") for a in appointments])

    added = []
    add(2)
    add(2, done=False)
    small = count()
    # More done requests, and more sessions in the open one.
    WrapUpRequest.objects.filter(status="open").delete()
    for _ in range(3):
        add(5)
    add(5, done=False)
    assert WrapUpRequest.objects.filter(mentor=mentor).count() == 5
    large = count()
    assert small == large
    assert large <= 10
    page = text(client.get("/"))
    assert page.count("Done by Lee Leader") == 4 and page.count("Waiting for Senior Leadership since") == 1
