"""Finance in the admin: the queue of flagged sessions and open tickets, completing a wrap-up, answering tickets."""

import re
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import FinanceTicket
from invoicing.services import ticket_raise, ticket_reply
from sessions_app import roles
from sessions_app.models import AppointmentEvent, ServiceAppointment, WrapUpRequest, WrapUpRequestItem
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import (
    AppointmentFactory,
    FunderFactory,
    FundingArrangementFactory,
    MenteeFactory,
    UserFactory,
)

Status = ServiceAppointment.Status
QUEUE_URL = "/admin/invoicing/financeticket/queue/"
NO_FUNDING = "No funding on file: mentee says the university pays from this term."


def flag(appointment, *, by=None, admin_details=NO_FUNDING, now=None):
    """Wrap up with the funding missing, as the wizard does when there is no option: the session goes to Finance."""
    return appointment_wrap_up(
        appointment_id=appointment.pk,
        acting_user=by or appointment.mentor.user,
        answers=WrapUp(outcome="attended", session_notes="x", actual_minutes=60, admin_details=admin_details),
        now=now,
    )


def admin_change_url(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def complete_url(appointment):
    return reverse("admin:sessions_app_serviceappointment_complete_wrap_up", args=[appointment.pk])


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def session_day(appointment):
    return date_format(timezone.localdate(appointment.starts_at), "j F Y")


@pytest.fixture
def flagged(past_appointment):
    """Mo Mentee has no funding arrangement, so Ann Mentor's wrap-up went to Finance."""
    return flag(past_appointment)


# --------------------------------------------------------------------------- the queue


class TestQueue:
    def test_lists_flagged_sessions_and_open_tickets_oldest_first_with_what_finance_must_read(
        self, finance_client, mentor, other_mentor, mentee, past_appointment
    ):
        now = timezone.now()
        flagged_later = AppointmentFactory(
            mentor=other_mentor, mentee=MenteeFactory(full_name="Priya Pupil"),
            starts_at=past_appointment.starts_at - timedelta(days=1),
        )
        # The session that has waited longest comes first, whatever its date.
        flag(past_appointment, admin_details="No funding on file", now=now - timedelta(hours=2))
        flag(flagged_later, admin_details="PO expired last week", now=now - timedelta(hours=1))
        question = ticket_raise(raised_by=mentor.user, appointment=past_appointment,
                                subject="Which rate applies?", message="Is it the 2025 rate or the new one?")
        FinanceTicket.objects.filter(pk=question.pk).update(raised_at=now - timedelta(days=3))
        closed = ticket_raise(raised_by=mentor.user, subject="Old question", message="Answered already")
        ticket_reply(ticket_id=closed.pk, acting_user=UserFactory(), reply="Done")

        response = finance_client.get(QUEUE_URL)

        assert response.status_code == 200
        queue = response.context["queue"]
        assert [a.reference for a in queue.appointments] == [past_appointment.reference, flagged_later.reference]
        assert [t.subject for t in queue.tickets] == [
            "Which rate applies?",
            f"{past_appointment.reference}: information missing at wrap-up",
            f"{flagged_later.reference}: information missing at wrap-up",
        ]
        html = response.content.decode()
        flagged_section = html.split('id="awaiting-finance"')[1].split('id="open-tickets"')[0]
        tickets_section = html.split('id="open-tickets"')[1]
        assert flagged_section.index(past_appointment.reference) < flagged_section.index(flagged_later.reference)
        for text in ("No funding on file", "PO expired last week", "Ann Mentor", "Mo Mentee", "Olu Othermentor",
                     "Priya Pupil", f'href="{admin_change_url(past_appointment)}">{past_appointment.reference}</a>',
                     f'href="{complete_url(past_appointment)}"'):
            assert text in flagged_section, text
        for text in ("Is it the 2025 rate or the new one?", "Which rate applies?", "by Ann Mentor",
                     date_format(timezone.localtime(now - timedelta(days=3)), "j M Y, H:i"),
                     f'href="{admin_change_url(question)}"'):
            assert text in tickets_section, text
        assert "Old question" not in html

    def test_an_empty_queue_says_so(self, finance_client, past_appointment):
        html = finance_client.get(QUEUE_URL).content.decode()
        assert "No sessions are awaiting Finance." in html and "No open tickets." in html

    def test_the_admin_index_links_to_the_queue(self, finance_client):
        html = finance_client.get(reverse("admin:index")).content.decode()
        assert f'href="{QUEUE_URL}"' in html
        assert reverse("admin:finance_queue") == QUEUE_URL

    @pytest.mark.parametrize("client_fixture", ["mentor_client", "leader_client", "client"])
    def test_mentors_senior_leadership_and_strangers_cannot_reach_it(self, request, client_fixture, flagged):
        response = request.getfixturevalue(client_fixture).get(QUEUE_URL)
        assert response.status_code == 302
        assert response.url == f"/admin/login/?next={QUEUE_URL}"

    def test_query_count_does_not_grow_with_the_number_of_flagged_sessions(self, finance_client, db):
        start = timezone.now().replace(microsecond=0) - timedelta(days=1)

        def flag_more(count):
            for _ in range(count):  # each with its own mentor and mentee, so any per-row lookup would show
                appointment = flag(AppointmentFactory(starts_at=start))
                ticket_raise(raised_by=appointment.mentor.user, appointment=appointment, subject="Also", message="?")

        def queries_for_the_queue():
            with CaptureQueriesContext(connection) as captured:
                response = finance_client.get(QUEUE_URL)
            assert response.status_code == 200
            return len(response.context["queue"].appointments), len(captured)

        flag_more(2)
        rows, queries_for_2 = queries_for_the_queue()
        assert rows == 2
        flag_more(18)
        rows, queries_for_20 = queries_for_the_queue()
        assert rows == 20
        assert queries_for_20 == queries_for_2


# --------------------------------------------------------------------------- completing a flagged session


class TestCompletingAWrapUp:
    def mentee_data(self, mentee, *rows):
        data = {
            "full_name": mentee.full_name, "email": mentee.email, "phone": "", "address": "",
            "funding_arrangements-TOTAL_FORMS": str(len(rows)), "funding_arrangements-INITIAL_FORMS": "0",
            "funding_arrangements-MIN_NUM_FORMS": "0", "funding_arrangements-MAX_NUM_FORMS": "1000",
            "_save": "Save",
        }
        for index, row in enumerate(rows):
            data.update({f"funding_arrangements-{index}-{key}": value for key, value in row.items()})
        return data

    def test_finance_adds_the_funding_on_the_mentee_and_completes_the_wrap_up(
        self, finance_client, finance_user, mentor, mentee, flagged
    ):
        ticket = FinanceTicket.objects.get(appointment=flagged)
        # The session's admin page has the button.
        page = finance_client.get(admin_change_url(flagged)).content.decode()
        assert f'href="{complete_url(flagged)}" id="complete-wrap-up">Complete wrap-up</a>' in page

        # No arrangement yet: the page says so and sends Finance to the mentee's account.
        response = finance_client.get(complete_url(flagged))
        html = response.content.decode()
        assert (f"Mo Mentee has no funding arrangement valid on {session_day(flagged)}, "
                "so the wrap-up cannot be completed yet.") in html
        mentee_url = f"{admin_change_url(mentee)}?return_to_wrap_up={flagged.pk}"
        assert f'href="{mentee_url}"' in html
        assert NO_FUNDING in html
        assert 'value="Complete wrap-up"' not in html

        # The mentee's page shows the session waiting for Finance, with a way back to it.
        page = finance_client.get(mentee_url).content.decode()
        assert flagged.reference in page and f'href="{complete_url(flagged)}"' in page

        # Finance adds the arrangement inline; saving brings them back to the session.
        funder = FunderFactory(name="University of Northbridge")
        response = finance_client.post(mentee_url, self.mentee_data(
            mentee,
            {"kind": "funded", "funder": funder.pk, "reference": "PO 123", "hourly_rate": "52.50",
             "hours_allowance": "", "valid_from": "2020-01-01", "valid_until": ""},
        ))
        assert response.status_code == 302 and response.url == complete_url(flagged)
        arrangement = mentee.funding_arrangements.get()

        response = finance_client.get(response.url)
        html = response.content.decode()
        assert "Funded by University of Northbridge, ref. PO 123" in html
        assert response.context["form"].initial["funding_arrangement"] == arrangement.pk  # the only option

        response = finance_client.post(complete_url(flagged), {
            "funding_arrangement": arrangement.pk,
            "reply": "Added the university's PO; all done.",
        })
        assert response.status_code == 302 and response.url == QUEUE_URL
        assert messages_of(response) == [
            f"{flagged.reference} is completed (Funded by University of Northbridge, ref. PO 123). Its open tickets "
            "are answered with your reply, which Ann Mentor can now see."
        ]

        flagged.refresh_from_db()
        assert flagged.status == Status.COMPLETED
        assert flagged.funding_arrangement == arrangement
        assert flagged.wrapped_up_by == mentor.user  # still the mentor's wrap-up
        event = flagged.events.get(kind=AppointmentEvent.Kind.COMPLETED_BY_FINANCE)
        assert event.get_kind_display() == "Completed by Finance"
        assert event.actor == finance_user and event.on_behalf_of is None
        ticket.refresh_from_db()
        assert ticket.status == FinanceTicket.Status.CLOSED
        assert ticket.reply == "Added the university's PO; all done."
        assert ticket.replied_by == finance_user and ticket.replied_at is not None
        # What the mentor who raised it can see: their ticket, answered by Finance.
        assert FinanceTicket.objects.filter(raised_by=mentor.user, replied_by=finance_user).get() == ticket

        queue = finance_client.get(QUEUE_URL).context["queue"]
        assert queue.appointments == [] and queue.tickets == []
        page = finance_client.get(admin_change_url(flagged)).content.decode()
        assert "Complete wrap-up" not in page and "Completed by Finance" in page

    def test_only_arrangements_valid_on_the_session_date_are_offered(self, finance_client, mentee, flagged):
        current = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England",
                                            reference="SFE-42")
        self_funded = FundingArrangementFactory(mentee=mentee, self_funded=True)
        FundingArrangementFactory(mentee=mentee, valid_from=date(2019, 1, 1), valid_until=date(2019, 12, 31))
        FundingArrangementFactory(mentee=MenteeFactory(), funder__name="Someone Else's Funder")
        response = finance_client.get(complete_url(flagged))
        options = dict(response.context["form"].fields["funding_arrangement"].choices)
        assert set(options) == {current.pk, self_funded.pk}
        assert options[current.pk].startswith("Funded by Student Finance England, ref. SFE-42 · £55.00 an hour")
        assert "funding_arrangement" not in response.context["form"].initial  # two options: Finance chooses

    def test_an_arrangement_not_valid_on_the_session_date_is_refused_with_the_services_message(
        self, finance_client, mentee, flagged
    ):
        FundingArrangementFactory(mentee=mentee)
        expired = FundingArrangementFactory(mentee=mentee, valid_from=date(2019, 1, 1), valid_until=date(2019, 12, 31))
        response = finance_client.post(complete_url(flagged), {"funding_arrangement": expired.pk, "reply": "Done."})
        assert response.status_code == 200
        assert response.context["form"].errors == {
            "funding_arrangement": [f"That funding arrangement does not apply to Mo Mentee on {session_day(flagged)}."]
        }
        assert f"That funding arrangement does not apply to Mo Mentee on {session_day(flagged)}." in (
            response.content.decode())
        flagged.refresh_from_db()
        assert flagged.status == Status.AWAITING_FINANCE and flagged.funding_arrangement is None
        assert FinanceTicket.objects.get(appointment=flagged).status == FinanceTicket.Status.OPEN

    def test_funding_and_a_reply_are_both_needed(self, finance_client, mentee, flagged):
        arrangement = FundingArrangementFactory(mentee=mentee)
        response = finance_client.post(complete_url(flagged), {"funding_arrangement": "", "reply": "  "})
        assert response.context["form"].errors == {
            "funding_arrangement": ["Choose the funding arrangement that applies to this session."],
            "reply": ["Write a reply for the person who wrapped up the session."],
        }
        response = finance_client.post(complete_url(flagged), {"funding_arrangement": arrangement.pk, "reply": ""})
        assert response.context["form"].errors == {
            "reply": ["Write a reply for the person who wrapped up the session."]
        }
        assert response.context["form"]["funding_arrangement"].value() == str(arrangement.pk)  # answer kept
        flagged.refresh_from_db()
        assert flagged.status == Status.AWAITING_FINANCE

    def test_completing_twice_says_who_completed_it(self, finance_client, finance_user, mentee, flagged):
        arrangement = FundingArrangementFactory(mentee=mentee)
        data = {"funding_arrangement": arrangement.pk, "reply": "Sorted."}
        first = finance_client.post(complete_url(flagged), data, follow=True)
        assert first.redirect_chain == [(QUEUE_URL, 302)]

        response = finance_client.post(complete_url(flagged), data)  # a second submit, or a second person

        assert response.status_code == 302 and response.url == admin_change_url(flagged)
        event = flagged.events.get(kind=AppointmentEvent.Kind.COMPLETED_BY_FINANCE)
        local = timezone.localtime(event.occurred_at)
        assert messages_of(response) == [
            f"{flagged.reference} was already completed by Fay Finance on "
            f"{date_format(local, 'j F Y')} at {local:%H:%M}."
        ]
        assert flagged.events.filter(kind=AppointmentEvent.Kind.COMPLETED_BY_FINANCE).count() == 1
        assert FinanceTicket.objects.get(appointment=flagged).reply == "Sorted."

    def test_a_session_not_awaiting_finance_cannot_be_completed_here(self, finance_client, mentee, past_appointment):
        arrangement = FundingArrangementFactory(mentee=mentee)
        response = finance_client.post(complete_url(past_appointment),
                                       {"funding_arrangement": arrangement.pk, "reply": "x"})
        assert response.status_code == 302 and response.url == admin_change_url(past_appointment)
        assert messages_of(response) == [f"{past_appointment.reference} is Scheduled."]
        past_appointment.refresh_from_db()
        assert past_appointment.status == Status.SCHEDULED
        assert "Complete wrap-up" not in finance_client.get(admin_change_url(past_appointment)).content.decode()

    @pytest.mark.parametrize("client_fixture", ["mentor_client", "leader_client"])
    def test_mentors_and_senior_leadership_cannot_complete_it(self, request, client_fixture, mentee, flagged):
        arrangement = FundingArrangementFactory(mentee=mentee)
        response = request.getfixturevalue(client_fixture).post(
            complete_url(flagged), {"funding_arrangement": arrangement.pk, "reply": "x"})
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
        flagged.refresh_from_db()
        assert flagged.status == Status.AWAITING_FINANCE


# --------------------------------------------------------------------------- tickets


def ticket_list(client, **params):
    response = client.get(reverse("admin:invoicing_financeticket_changelist"), params)
    assert response.status_code == 200
    return [ticket.subject for ticket in response.context["cl"].result_list]


class TestTickets:
    @pytest.fixture
    def question(self, mentor, past_appointment):
        return ticket_raise(raised_by=mentor.user, appointment=past_appointment, subject="Which funding applies?",
                            message="There are two arrangements; which one?")

    def test_answering_a_ticket_on_its_own_closes_it_and_the_raiser_sees_the_reply(
        self, finance_client, finance_user, mentor, question, past_appointment
    ):
        page = finance_client.get(admin_change_url(question)).content.decode()
        assert "There are two arrangements; which one?" in page and "Ann Mentor" in page
        assert f'>{past_appointment.reference}</a>' in page
        assert 'name="answer"' in page and 'value="Send reply and close ticket"' in page
        assert 'name="subject"' not in page and 'name="message"' not in page  # the ticket itself is read-only

        response = finance_client.post(admin_change_url(question), {"answer": " The funded one. ", "_save": "x"})

        assert response.status_code == 302
        assert response.url == reverse("admin:invoicing_financeticket_changelist")
        assert messages_of(response) == [
            f"Ticket {question.pk} is answered and closed. Ann Mentor, who raised it, can see your reply."
        ]
        question.refresh_from_db()
        assert question.status == FinanceTicket.Status.CLOSED
        assert (question.reply, question.replied_by) == ("The funded one.", finance_user)
        assert question.subject == "Which funding applies?" and question.raised_by == mentor.user
        page = finance_client.get(admin_change_url(question)).content.decode()
        assert "The funded one." in page and "Answered" in page
        assert 'name="answer"' not in page and "Send reply and close ticket" not in page
        past_appointment.refresh_from_db()
        assert past_appointment.status == Status.SCHEDULED  # a ticket is answered without touching the session

    def test_answering_a_ticket_someone_already_answered_is_refused(self, finance_client, question):
        # Another Finance user answers while this page is open.
        colleague = UserFactory(full_name="Col League", roles=[roles.FINANCE])
        ticket_reply(ticket_id=question.pk, acting_user=colleague, reply="Self-funded.")
        question.refresh_from_db()
        local = timezone.localtime(question.replied_at)

        response = finance_client.post(admin_change_url(question), {"answer": "The funded one.", "_save": "x"})

        assert response.status_code == 302 and response.url == admin_change_url(question)
        assert messages_of(response) == [
            f"Ticket {question.pk} was already answered by Col League on {local:%d/%m/%Y at %H:%M}."
        ]
        question.refresh_from_db()
        assert (question.reply, question.replied_by) == ("Self-funded.", colleague)

    def test_a_blank_reply_is_refused_and_the_ticket_stays_open(self, finance_client, question):
        response = finance_client.post(admin_change_url(question), {"answer": "   ", "_save": "x"})
        assert response.status_code == 302 and response.url == admin_change_url(question)
        assert messages_of(response) == ["Write a reply before closing the ticket."]
        question.refresh_from_db()
        assert question.status == FinanceTicket.Status.OPEN and question.reply == ""

    def test_list_puts_open_tickets_first_oldest_first(self, finance_client, mentor):
        now = timezone.now()
        for subject, days_ago, answered in [("old answered", 9, True), ("new open", 1, False),
                                            ("old open", 5, False), ("new answered", 0, True)]:
            ticket = ticket_raise(raised_by=mentor.user, subject=subject, message="?")
            FinanceTicket.objects.filter(pk=ticket.pk).update(raised_at=now - timedelta(days=days_ago))
            if answered:
                ticket_reply(ticket_id=ticket.pk, acting_user=mentor.user, reply="ok")
        assert ticket_list(finance_client) == ["old open", "new open", "old answered", "new answered"]
        assert ticket_list(finance_client, status__exact="open") == ["old open", "new open"]
        assert ticket_list(finance_client, status__exact="closed") == ["old answered", "new answered"]

    def test_search_by_subject_sa_reference_or_who_raised_it(self, finance_client, mentor, leader, question):
        other = ticket_raise(raised_by=leader, subject="Rates for 2026", message="?",
                             appointment=AppointmentFactory())
        assert ticket_list(finance_client, q="rates") == ["Rates for 2026"]
        assert ticket_list(finance_client, q=other.appointment.reference) == ["Rates for 2026"]
        assert ticket_list(finance_client, q=question.appointment.reference) == ["Which funding applies?"]
        assert ticket_list(finance_client, q="Lee Leader") == ["Rates for 2026"]
        assert ticket_list(finance_client, q="ann@example.com") == ["Which funding applies?"]

    def test_list_shows_the_sa_reference_and_who_raised_it(self, finance_client, question, past_appointment):
        html = finance_client.get(reverse("admin:invoicing_financeticket_changelist")).content.decode()
        assert past_appointment.reference in html and "Ann Mentor" in html and "Open" in html

    def test_tickets_cannot_be_added_or_deleted_in_the_admin(self, finance_client, question):
        assert finance_client.get(reverse("admin:invoicing_financeticket_add")).status_code == 403
        assert finance_client.get(
            reverse("admin:invoicing_financeticket_delete", args=[question.pk])).status_code == 403
        finance_client.post(reverse("admin:invoicing_financeticket_changelist"),
                            {"action": "delete_selected", "_selected_action": [question.pk]})
        assert FinanceTicket.objects.filter(pk=question.pk).exists()

    def test_a_missing_information_ticket_points_to_completing_the_wrap_up(self, finance_client, flagged):
        ticket = FinanceTicket.objects.get(appointment=flagged)
        page = finance_client.get(admin_change_url(ticket)).content.decode()
        assert NO_FUNDING in page
        assert f'href="{complete_url(flagged)}">Complete wrap-up</a>' in page


# --------------------------------------------------------------------------- wrap-up requests


class TestWrapUpRequests:
    @pytest.fixture
    def wrap_up_request(self, mentor, past_appointment):
        request = WrapUpRequest.objects.create(mentor=mentor, message="I was off sick; all attended.")
        WrapUpRequestItem.objects.create(request=request, appointment=past_appointment, outcome="attended")
        return request

    def test_finance_sees_requests_with_mentor_status_and_date(self, finance_client, wrap_up_request):
        response = finance_client.get(reverse("admin:sessions_app_wrapuprequest_changelist"))
        assert response.status_code == 200
        assert list(response.context["cl"].result_list) == [wrap_up_request]
        html = response.content.decode()
        assert "Ann Mentor" in html and "Waiting for Senior Leadership" in html
        assert date_format(timezone.localtime(wrap_up_request.created_at), "DATETIME_FORMAT") in html

    def test_a_request_shows_its_sessions_read_only(self, finance_client, wrap_up_request, past_appointment):
        response = finance_client.get(admin_change_url(wrap_up_request))
        assert response.status_code == 200
        html = response.content.decode()
        assert "I was off sick; all attended." in html
        assert f'href="{admin_change_url(past_appointment)}">{past_appointment.reference}</a>' in html
        assert "Attended" in html and "Mo Mentee" in html
        assert not re.search(r'name="(items-0-outcome|message|status)"', html)
        assert 'value="Save"' not in html

    def test_requests_cannot_be_added_changed_or_deleted(self, finance_client, wrap_up_request):
        assert finance_client.get(reverse("admin:sessions_app_wrapuprequest_add")).status_code == 403
        finance_client.post(admin_change_url(wrap_up_request), {"message": "changed", "status": "done"})
        wrap_up_request.refresh_from_db()
        assert wrap_up_request.status == WrapUpRequest.Status.OPEN
        assert wrap_up_request.message == "I was off sick; all attended."

    def test_finance_index_lists_tickets_and_wrap_up_requests(self, finance_client):
        html = finance_client.get(reverse("admin:index")).content.decode()
        assert f'href="{reverse("admin:invoicing_financeticket_changelist")}"' in html
        assert f'href="{reverse("admin:sessions_app_wrapuprequest_changelist")}"' in html
