"""Senior Leadership wrap up for a mentor: one list of the mentor's sessions, each given a status, submitted together."""

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import FinanceTicket
from sessions_app.models import AppointmentEvent, CancellationReason, ServiceAppointment, WrapUpRequest
from sessions_app.services import WrapUp, appointment_wrap_up, appointments_wrap_up_for_mentor, wrap_up_request_submit
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome


def hours_ago(hours):
    return timezone.now().replace(microsecond=0) - timedelta(hours=hours)


def session(mentor, hours, mentee=None):
    start = hours_ago(hours)
    return AppointmentFactory(mentor=mentor, mentee=mentee or MenteeFactory(), starts_at=start,
                              ends_at=start + timedelta(hours=1))


def day_of(appointment):
    return date_format(timezone.localdate(appointment.starts_at), "j F Y")


def text(response):
    """The page as a reader sees it: tags removed, spaces collapsed."""
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.content.decode())))


def url(mentor):
    return reverse("mentor-wrap-up", args=[mentor.pk])


class TestAccess:
    def test_mentors_cannot_open_the_list_even_their_own(self, mentor_client, mentor, other_mentor):
        assert mentor_client.get(url(mentor)).status_code == 404
        assert mentor_client.get(url(other_mentor)).status_code == 404
        assert mentor_client.post(url(mentor), {}).status_code == 404

    def test_senior_leadership_and_finance_can(self, client, leader, finance_user, mentor):
        for user in (leader, finance_user):
            client.force_login(user)
            response = client.get(url(mentor))
            assert response.status_code == 200
            assert "Wrap up for Ann Mentor" in response.content.decode()

    def test_unknown_mentor_is_not_found(self, leader_client, db):
        assert leader_client.get("/mentors/999999/wrap-up/").status_code == 404

    def test_logged_out_goes_to_log_in(self, client, mentor):
        assert client.get(url(mentor)).url.startswith("/accounts/login/?next=")


class TestList:
    def test_lists_only_this_mentors_started_sessions_still_to_wrap_up_oldest_first(
        self, leader_client, mentor, other_mentor
    ):
        newer, older = session(mentor, 3), session(mentor, 50)
        done = session(mentor, 30)
        appointment_wrap_up(appointment_id=done.pk, acting_user=mentor.user, answers=WrapUp(
            outcome=Outcome.DID_NOT_ATTEND, admin_details="No funding known."))
        future = AppointmentFactory(mentor=mentor)
        theirs = session(other_mentor, 4)
        html = leader_client.get(url(mentor)).content.decode()
        assert re.findall(r'class="sa-link" href="/appointments/(SA-\d+)/"', html) == [older.reference, newer.reference]
        for absent in (done, future, theirs):
            assert absent.reference not in html

    def test_each_row_offers_the_statuses_and_says_where_the_funding_comes_from(self, leader_client, mentor):
        one = session(mentor, 5)
        FundingArrangementFactory(mentee=one.mentee, funder__name="Student Finance England", reference="SFE-1")
        none = session(mentor, 4)
        response = leader_client.get(url(mentor))
        select = response.content.decode().split(f'name="outcome_{one.pk}"')[1].split("</select>")[0]
        assert re.findall(r">([^<]+)</option>", select) == [
            "Leave as it is", "Attended", "Cancelled", "Late-notice cancellation", "Did not attend"]
        page = text(response)
        assert "Funded by Student Finance England, ref. SFE-1" in page
        assert f"To Finance: no funding arrangement on {day_of(none)}" in page
        assert f'name="notes_{one.pk}"' in response.content.decode()

    def test_statuses_from_the_mentors_request_are_filled_in(self, leader_client, mentor):
        asked, not_asked = session(mentor, 5), session(mentor, 4)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="I was off sick all week.",
                               items=[(asked.pk, Outcome.DID_NOT_ATTEND)])
        response = leader_client.get(url(mentor))
        form = response.context["form"]
        assert form[f"outcome_{asked.pk}"].value() == Outcome.DID_NOT_ATTEND
        assert not form[f"outcome_{not_asked.pk}"].value()
        html = response.content.decode()
        assert re.search(r'<option value="did_not_attend" selected>Did not attend</option>', html.split(
            f'name="outcome_{asked.pk}"')[1].split("</select>")[0])
        page = text(response)
        today = date_format(timezone.localdate(), "j F Y")
        assert f"Ann Mentor asked you to wrap up on {today}" in page
        assert "I was off sick all week." in page

    def test_query_count_does_not_grow_with_sessions(self, leader_client, mentor):
        def count():
            with CaptureQueriesContext(connection) as ctx:
                assert leader_client.get(url(mentor)).status_code == 200
            return len(ctx.captured_queries)

        def add(n):
            for i in range(n):
                appointment = session(mentor, 3 + len(added) + i)
                if i % 2:
                    FundingArrangementFactory(mentee=appointment.mentee)
            added.extend(range(n))

        added = []
        add(5)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="",
                               items=[(a.pk, Outcome.ATTENDED) for a in ServiceAppointment.objects.all()[:3]])
        small = count()
        add(25)
        assert ServiceAppointment.objects.filter(mentor=mentor).count() == 30
        assert count() == small


class TestSubmit:
    @pytest.fixture
    def batch(self, mentor):
        one_option = session(mentor, 50)
        funded = FundingArrangementFactory(mentee=one_option.mentee, funder__name="Student Finance England")
        no_option = session(mentor, 40)
        cancelled = session(mentor, 30)
        left_blank = session(mentor, 20)
        taken = session(mentor, 10)
        return dict(one_option=one_option, funded=funded, no_option=no_option, cancelled=cancelled,
                    left_blank=left_blank, taken=taken)

    def test_a_mixed_batch_each_through_the_wrap_up_with_the_mentor_on_whose_behalf(
        self, leader_client, leader, mentor, batch
    ):
        leader_client.get(url(mentor))
        # Meanwhile the mentor wraps one of them up themselves.
        appointment_wrap_up(appointment_id=batch["taken"].pk, acting_user=mentor.user,
                            answers=WrapUp(outcome=Outcome.ATTENDED, admin_details="Not sure of the funding."))
        response = leader_client.post(url(mentor), {
            f"outcome_{batch['one_option'].pk}": Outcome.ATTENDED, f"notes_{batch['one_option'].pk}": "Essay plan.",
            f"outcome_{batch['no_option'].pk}": Outcome.DID_NOT_ATTEND, f"notes_{batch['no_option'].pk}": "",
            f"outcome_{batch['cancelled'].pk}": Outcome.CANCELLED, f"notes_{batch['cancelled'].pk}": "Room closed.",
            f"outcome_{batch['left_blank'].pk}": "", f"notes_{batch['left_blank'].pk}": "",
            f"outcome_{batch['taken'].pk}": Outcome.LATE_CANCELLATION, f"notes_{batch['taken'].pk}": "",
            f"reason_{batch['taken'].pk}": CancellationReason.objects.first().pk,
            f"internal_note_{batch['taken'].pk}": "Rang at 9.",
        })
        assert response.status_code == 302 and response.url == reverse("mentor-wrap-up-result", args=[mentor.pk])
        for appointment in batch.values():
            appointment.refresh_from_db()

        one = batch["one_option"]
        assert (one.status, one.outcome, one.funding_arrangement) == (Status.COMPLETED, "attended", batch["funded"])
        assert one.session_notes == "Essay plan." and one.wrapped_up_by == leader

        none = batch["no_option"]
        assert (none.status, none.outcome, none.funding_arrangement) == (Status.AWAITING_FINANCE, "did_not_attend", None)
        expected_details = (
            "Wrapped up by Lee Leader for Ann Mentor from Senior Leadership's list: the funding type could not be "
            f"decided (no funding arrangement on {day_of(none)})."
        )
        assert none.admin_details == expected_details
        ticket = FinanceTicket.objects.get(appointment=none)
        assert ticket.kind == FinanceTicket.Kind.MISSING_INFORMATION and ticket.message == expected_details
        assert ticket.raised_by == leader

        cancelled = batch["cancelled"]
        assert (cancelled.status, cancelled.outcome, cancelled.funding_arrangement) == (
            Status.COMPLETED, "cancelled", None)
        assert not FinanceTicket.objects.filter(appointment=cancelled).exists()

        assert batch["left_blank"].status == Status.SCHEDULED and batch["left_blank"].outcome == ""
        taken = batch["taken"]
        assert (taken.outcome, taken.wrapped_up_by) == ("attended", mentor.user)

        for appointment in (one, none, cancelled):
            event = appointment.events.exclude(kind=AppointmentEvent.Kind.BOOKED).get()
            assert (event.actor, event.on_behalf_of) == (leader, mentor.user)
        assert taken.events.filter(actor=leader).count() == 0

        page = text(leader_client.get(response.url))
        assert "3 of 4 sessions wrapped up." in page
        assert f"{one.reference}: Completed (Attended)" in page
        assert f"{cancelled.reference}: Completed (Cancelled)" in page
        assert (f"{none.reference}: with Finance: funding type could not be decided "
                f"(no funding arrangement on {day_of(none)})") in page
        assert f"{taken.reference}: not changed: {taken.reference} was already wrapped up by Ann Mentor on" in page
        assert batch["left_blank"].reference not in page

        history = text(leader_client.get(one.get_absolute_url())).split("History")[-1]
        assert "Lee Leader on behalf of Ann Mentor" in history

    def test_two_arrangements_on_the_day_go_to_finance_saying_so(self, leader, mentor):
        appointment = session(mentor, 5)
        FundingArrangementFactory(mentee=appointment.mentee)
        FundingArrangementFactory(mentee=appointment.mentee, self_funded=True)
        result = appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader,
                                                 choices=[(appointment.pk, Outcome.ATTENDED, "")])
        assert [row.text for row in result.rows] == [
            f"{appointment.reference}: with Finance: funding type could not be decided "
            f"(2 arrangements on {day_of(appointment)})"]
        appointment.refresh_from_db()
        assert appointment.status == Status.AWAITING_FINANCE
        assert appointment.admin_details.endswith(f"(2 arrangements on {day_of(appointment)}).")

    def test_another_mentors_session_is_not_touched(self, leader, mentor, other_mentor):
        theirs = session(other_mentor, 5)
        result = appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader,
                                                 choices=[(theirs.pk, Outcome.ATTENDED, "")])
        assert result.rows[0].text == f"Session {theirs.pk}: not changed: this is not one of Ann Mentor's sessions."
        theirs.refresh_from_db()
        assert theirs.status == Status.SCHEDULED

    def test_a_mentor_cannot_use_the_service(self, mentor):
        from django.core.exceptions import PermissionDenied

        appointment = session(mentor, 5)
        with pytest.raises(PermissionDenied):
            appointments_wrap_up_for_mentor(mentor=mentor, acting_user=mentor.user,
                                            choices=[(appointment.pk, Outcome.ATTENDED, "")])
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED

    def test_nothing_chosen_says_so_and_changes_nothing(self, leader_client, mentor):
        appointment = session(mentor, 5)
        response = leader_client.post(url(mentor), {f"outcome_{appointment.pk}": "", f"notes_{appointment.pk}": ""})
        assert response.status_code == 200
        assert "Choose a status for at least one session. Nothing was changed." in response.content.decode()
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED

    def test_an_unknown_status_is_refused(self, leader_client, mentor):
        appointment = session(mentor, 5)
        response = leader_client.post(url(mentor), {f"outcome_{appointment.pk}": "completed"})
        assert f"Choose the status of {appointment.reference} from the list." in response.content.decode()
        appointment.refresh_from_db()
        assert appointment.status == Status.SCHEDULED

    def test_result_page_without_a_batch_goes_back_to_the_list(self, leader_client, mentor):
        response = leader_client.get(reverse("mentor-wrap-up-result", args=[mentor.pk]))
        assert response.status_code == 302 and response.url == url(mentor)


class TestRequestDone:
    def test_request_is_done_when_all_its_sessions_are_wrapped_up_and_the_mentor_sees_it(
        self, client, leader_client, mentor
    ):
        first, second, other = session(mentor, 30), session(mentor, 20), session(mentor, 10)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="",
                               items=[(first.pk, Outcome.ATTENDED), (second.pk, Outcome.CANCELLED)])

        # Only part of the request: it stays open.
        leader_client.post(url(mentor), {f"outcome_{first.pk}": Outcome.CANCELLED})
        request = WrapUpRequest.objects.get()
        assert request.status == WrapUpRequest.Status.OPEN

        response = leader_client.post(url(mentor), {f"outcome_{second.pk}": Outcome.CANCELLED,
                                                    f"outcome_{other.pk}": ""})
        request.refresh_from_db()
        assert request.status == WrapUpRequest.Status.DONE and request.done_by.full_name == "Lee Leader"
        assert request.done_at is not None
        assert "Ann Mentor's request is done" in text(leader_client.get(response.url))

        client.force_login(mentor.user)
        home = text(client.get("/"))
        assert f"Done by Lee Leader on {date_format(timezone.localdate(), 'j F Y')}" in home
        assert "Waiting for Senior Leadership" not in home

    def test_request_whose_sessions_were_wrapped_up_elsewhere_is_done_by_itself(self, client, mentor):
        appointment = session(mentor, 30)
        session(mentor, 20)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="",
                               items=[(appointment.pk, Outcome.ATTENDED)])
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                            answers=WrapUp(outcome=Outcome.ATTENDED, admin_details="Funding?"))
        request = WrapUpRequest.objects.get()
        assert request.status == WrapUpRequest.Status.DONE and request.done_by == mentor.user
        client.force_login(mentor.user)
        assert "Waiting for Senior Leadership" not in text(client.get("/"))


class TestDashboard:
    def test_links_to_the_list_and_shows_who_asked_and_when(self, leader_client, mentor, other_mentor):
        asked = session(mentor, 5)
        session(other_mentor, 6)
        wrap_up_request_submit(mentor=mentor, acting_user=mentor.user, message="",
                               items=[(asked.pk, Outcome.ATTENDED)])
        response = leader_client.get("/dashboard/")
        html = response.content.decode()
        assert f'href="{url(mentor)}">Wrap up for them<' in html
        assert f'href="{url(other_mentor)}">Wrap up for them<' in html
        rows = {row.mentor: row.open_request_since for row in response.context["board"].mentors_outstanding}
        assert rows[mentor] is not None and rows[other_mentor] is None
        row = html.split("Ann Mentor</td>")[1].split("</tr>")[0]
        assert f"Asked on {date_format(timezone.localdate(), 'j M Y')}" in row
        assert "Asked on" not in html.split("Olu Othermentor</td>")[1].split("</tr>")[0]
