"""Authorised hours: what each funding arrangement has used, booked and left; a wrap-up that would go past them
goes to Finance, who bill it anyway, bill it to the mentee, or write it off."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoicing.models import FinanceTicket, Invoice, InvoiceLine, MissedSessionRule, OutcomePolicy
from invoicing.services import month_end_generate
from sessions_app.allowance import arrangements_with_hours, hours_left
from sessions_app.models import AppointmentEvent, CancellationReason, FundingArrangement, ServiceAppointment
from sessions_app.services import WrapUp, appointment_finance_complete, appointment_wrap_up
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory, MenteeFactory

pytestmark = pytest.mark.django_db
Status = ServiceAppointment.Status


def started(mentor, mentee, *, days_ago=2, minutes=60):
    start = timezone.now().replace(microsecond=0) - timedelta(days=days_ago)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(minutes=minutes))


def wrap_up(appointment, arrangement, *, by, outcome="attended", actual=None):
    late = outcome == "late_cancellation"
    return appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=by,
        answers=WrapUp(outcome=outcome, funding_arrangement=arrangement, session_notes="Notes",
                       actual_minutes=actual,
                       cancellation_reason=CancellationReason.objects.first() if late else None,
                       cancellation_note="Rang on the day." if late else ""),
    )


@pytest.fixture
def funder(db):
    return FunderFactory(name="Student Finance England")


@pytest.fixture
def arrangement(funder, mentee):
    return FundingArrangementFactory(mentee=mentee, funder=funder, reference="DSA-7", hours_allowance=Decimal("10"))


def hours_for(arrangement):
    return dict(arrangements_with_hours(FundingArrangement.objects.all()))[arrangement]


class TestCounting:
    def test_used_counts_billed_wrapped_up_sessions_booked_counts_sessions_not_wrapped_up(
            self, mentor, mentee, arrangement):
        wrap_up(started(mentor, mentee, minutes=90), arrangement, by=mentor.user, actual=75)  # 1.25 h recorded
        wrap_up(started(mentor, mentee, days_ago=3), arrangement, by=mentor.user, outcome="did_not_attend")  # 1 h
        future = AppointmentFactory(mentor=mentor, mentee=mentee,
                                    starts_at=timezone.now() + timedelta(days=4),
                                    ends_at=timezone.now() + timedelta(days=4, minutes=45))
        other_mentee = MenteeFactory()
        AppointmentFactory(mentor=mentor, mentee=other_mentee)  # another mentee's booking counts for nobody here
        hours = hours_for(arrangement)
        assert (hours.authorised, hours.used, hours.booked, hours.left) == (
            Decimal("10"), Decimal("2.25"), Decimal("0.75"), Decimal("7.00"))
        assert hours_left(arrangement) == Decimal("7.00")
        assert hours_left(arrangement, adding_minutes=8 * 60) == Decimal("-1.00")  # a series of eight hours: over
        assert future.status == Status.SCHEDULED

    def test_an_outcome_the_funder_does_not_bill_uses_no_hours_and_a_first_hour_funder_counts_one_hour(
            self, mentor, mentee, arrangement, funder):
        OutcomePolicy.objects.create(funder=funder, outcome="late_cancellation", billed=False, paid=True)
        MissedSessionRule.objects.create(funder=funder, charge="first_hour")
        wrap_up(started(mentor, mentee, days_ago=2, minutes=90), arrangement, by=mentor.user,
                outcome="did_not_attend")
        wrap_up(started(mentor, mentee, days_ago=3), arrangement, by=mentor.user, outcome="late_cancellation")
        assert hours_for(arrangement).used == Decimal("1.00")

    def test_sessions_outside_the_arrangement_dates_are_not_booked_against_it(self, mentor, mentee, funder):
        today = timezone.localdate()
        ended = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=Decimal("5"),
                                          valid_from=date(2020, 1, 1), valid_until=today - timedelta(days=1))
        AppointmentFactory(mentor=mentor, mentee=mentee)  # in three days: after it ended
        assert hours_for(ended).booked == Decimal("0.00")
        assert hours_for(ended).ends == today - timedelta(days=1)

    def test_the_count_is_two_queries_however_many_arrangements(self, mentor, funder):
        def queries():
            with CaptureQueriesContext(connection) as captured:
                arrangements_with_hours(FundingArrangement.objects.all())
            return len(captured)

        for _ in range(2):
            mentee = MenteeFactory()
            arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=Decimal("3"))
            wrap_up(started(mentor, mentee), arrangement, by=mentor.user)
        few = queries()
        for _ in range(5):
            mentee = MenteeFactory()
            arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=Decimal("3"))
            wrap_up(started(mentor, mentee), arrangement, by=mentor.user)
            AppointmentFactory(mentor=mentor, mentee=mentee)
        assert queries() == few == 2  # the policy with the first-hour funders, the arrangements with their hours


class TestWrapUpPastTheAuthorisedHours:
    def test_the_session_that_fits_exactly_is_completed_the_next_goes_to_finance(
            self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, reference="DSA-7",
                                                hours_allowance=Decimal("2"))
        first = wrap_up(started(mentor, mentee, days_ago=3), arrangement, by=mentor.user)
        second = wrap_up(started(mentor, mentee, days_ago=2), arrangement, by=mentor.user)  # exactly 2 of 2
        assert (first.status, second.status) == (Status.COMPLETED, Status.COMPLETED)

        third = wrap_up(started(mentor, mentee, days_ago=1, minutes=30), arrangement, by=mentor.user)
        assert third.status == Status.AWAITING_FINANCE
        assert third.funding_arrangement == arrangement
        assert third.admin_details == (
            "Over authorised hours: Funded by Student Finance England, ref. DSA-7 has 2 hours authorised, 2.00 used. "
            "This session's 0.50 would make 2.50. Finance decides: bill the funder anyway, bill the mentee "
            "(self-funded), or write it off."
        )
        ticket = FinanceTicket.objects.get(appointment=third)
        assert (ticket.kind, ticket.subject) == ("over_authorised_hours", f"{third.reference}: over authorised hours")
        event = AppointmentEvent.objects.filter(appointment=third).last()
        assert event.kind == "sent_to_finance" and event.description.endswith("; over authorised hours")
        assert hours_for(arrangement).used == Decimal("2.00")  # not counted until Finance decides

    def test_the_mentors_admin_details_are_kept_above_the_reason(self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=Decimal("0.5"))
        appointment = appointment_wrap_up(
            appointment_id=started(mentor, mentee).pk, acting_user=mentor.user,
            answers=WrapUp(outcome="attended", funding_arrangement=arrangement, session_notes="n",
                           admin_details="Mo's funding is being renewed."),
        )
        assert appointment.admin_details.startswith("Mo's funding is being renewed.\n\nOver authorised hours: ")

    def test_an_outcome_that_is_not_billed_never_goes_to_finance_for_hours(self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=Decimal("0.5"))
        OutcomePolicy.objects.create(funder=funder, outcome="did_not_attend", billed=False, paid=True)
        appointment = wrap_up(started(mentor, mentee), arrangement, by=mentor.user, outcome="did_not_attend")
        assert appointment.status == Status.COMPLETED

    def test_no_limit_means_no_check(self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=None)
        assert wrap_up(started(mentor, mentee, minutes=480), arrangement, by=mentor.user).status == Status.COMPLETED


class TestFinanceDecides:
    @pytest.fixture
    def over(self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hours_allowance=Decimal("1"),
                                                valid_from=date(2020, 1, 1))
        wrap_up(started(mentor, mentee, days_ago=2), arrangement, by=mentor.user)
        return wrap_up(started(mentor, mentee, days_ago=1), arrangement, by=mentor.user)

    def _month_end(self, appointment):
        day = timezone.localdate(appointment.starts_at)
        month_end_generate(year=day.year, month=day.month)

    def test_billed_to_the_funder_anyway_it_is_invoiced_to_the_funder(self, over, finance_user):
        appointment_finance_complete(appointment_id=over.pk, acting_user=finance_user,
                                     funding_arrangement=over.funding_arrangement, reply="Funder agreed by email.")
        over.refresh_from_db()
        assert over.status == Status.COMPLETED
        self._month_end(over)
        assert InvoiceLine.objects.get(appointment=over).invoice.funder == over.funding_arrangement.funder

    def test_billed_self_funded_it_is_invoiced_to_the_mentee(self, over, finance_user, mentee):
        own = FundingArrangementFactory(mentee=mentee, self_funded=True)
        appointment_finance_complete(appointment_id=over.pk, acting_user=finance_user, funding_arrangement=own,
                                     reply="Mo pays for this one.")
        self._month_end(over)
        invoice = InvoiceLine.objects.get(appointment=over).invoice
        assert (invoice.mentee, invoice.funder) == (mentee, None)

    def test_written_off_it_is_billed_to_nobody_and_the_history_says_so(self, over, finance_user):
        funding = over.funding_arrangement
        appointment_finance_complete(appointment_id=over.pk, acting_user=finance_user, funding_arrangement=None,
                                     write_off=True, reply="Written off: our mistake.")
        over.refresh_from_db()
        assert (over.status, over.funding_arrangement) == (Status.COMPLETED, None)
        self._month_end(over)
        assert not InvoiceLine.objects.filter(appointment=over).exists()
        assert Invoice.objects.count() == 1  # the session within the hours
        event = AppointmentEvent.objects.filter(appointment=over).last()
        assert event.description == f"Written off: billed to nobody (was {funding.label}). Written off: our mistake."
        assert FinanceTicket.objects.get(appointment=over).status == "closed"

    def test_the_complete_wrap_up_page_writes_it_off(self, over, finance_client):
        url = reverse("admin:sessions_app_serviceappointment_complete_wrap_up", args=[over.pk])
        page = finance_client.get(url).content.decode()
        assert "Write it off" in page
        assert "1 hours authorised (1.00 used, 0.00 left before this session)" in page
        response = finance_client.post(url, {"write_off": "on", "reply": "Not billed."})
        assert response.status_code == 302
        over.refresh_from_db()
        assert (over.status, over.funding_arrangement) == (Status.COMPLETED, None)


class TestAdminPages:
    def test_the_mentees_page_shows_each_arrangements_hours(self, finance_client, mentor, mentee, arrangement):
        wrap_up(started(mentor, mentee), arrangement, by=mentor.user, actual=90)
        page = finance_client.get(reverse("admin:sessions_app_mentee_change", args=[mentee.pk])).content.decode()
        for text in ("Hours used", "Hours booked", "Hours left", "1.50", "8.50"):
            assert text in page

    def test_finances_list_filters_nearly_used_up_and_ended(self, finance_client, settings, mentor, funder):
        settings.AUTHORISED_HOURS_WARNING = 2
        today = timezone.localdate()
        nearly, plenty, ended = (MenteeFactory(full_name=name) for name in ("Nia Nearly", "Pat Plenty", "Eve Ended"))
        nearly_arrangement = FundingArrangementFactory(mentee=nearly, funder=funder, hours_allowance=Decimal("2.5"))
        wrap_up(started(mentor, nearly), nearly_arrangement, by=mentor.user, actual=31)  # 1.98 h left: under 2
        plenty_arrangement = FundingArrangementFactory(mentee=plenty, funder=funder, hours_allowance=Decimal("2.5"))
        wrap_up(started(mentor, plenty), plenty_arrangement, by=mentor.user, actual=30)  # exactly 2 left: not under
        FundingArrangementFactory(mentee=ended, funder=funder, valid_until=today - timedelta(days=1))
        url = reverse("admin:sessions_app_fundingarrangement_changelist")

        def names(query):
            page = finance_client.get(f"{url}?{query}")
            assert page.status_code == 200
            return {a.mentee.full_name for a in page.context["cl"].result_list}

        assert names("hours=nearly_used_up") == {"Nia Nearly"}
        assert names("hours=ended") == {"Eve Ended"}
        everything = finance_client.get(url).content.decode()
        assert "1.98 (nearly used up)" in everything and "(ended)" in everything


def test_senior_leaderships_list_says_a_session_went_to_finance_over_the_authorised_hours(mentor, leader, mentee,
                                                                                           funder):
    from sessions_app.services.bulk import appointments_wrap_up_for_mentor

    arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, reference="DSA-7",
                                            hours_allowance=Decimal("1"))
    first, second = started(mentor, mentee, days_ago=2), started(mentor, mentee, days_ago=1)
    result = appointments_wrap_up_for_mentor(mentor=mentor, acting_user=leader,
                                             choices=[(first.pk, "attended", ""), (second.pk, "attended", "")])
    assert [row.text for row in result.rows] == [
        f"{first.reference}: Completed (Attended)",
        f"{second.reference}: with Finance: over the authorised hours of Funded by Student Finance England, ref. DSA-7",
    ]
    assert arrangement.pk


def test_senior_leaderships_dashboard_lists_funding_to_renew_and_mentors_do_not_see_it(
        client, leader, mentor, mentee, funder, settings):
    settings.AUTHORISED_HOURS_WARNING = 2
    arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, reference="DSA-7",
                                            hours_allowance=Decimal("3"))
    wrap_up(started(mentor, mentee), arrangement, by=mentor.user, actual=61)
    ending = MenteeFactory(full_name="Eli Ending")
    FundingArrangementFactory(mentee=ending, funder=funder, reference="PO-E",
                              valid_until=timezone.localdate() + timedelta(days=10))
    client.force_login(leader)
    page = client.get(reverse("dashboard")).content.decode()
    section = page.split('id="funding-to-renew"', 1)[1]
    assert "fewer than 2 hours left" in section
    assert section.index("Eli Ending") < section.index("Mo Mentee")  # the soonest to end first
    assert f'<a href="{reverse("mentee-detail", args=[mentee.pk])}">Mo Mentee</a>' in section
    assert "Funded by Student Finance England, ref. DSA-7" in section
    for cell in ("3.00", "1.02", "0.00", "1.98"):
        assert f">{cell}<" in section
    client.force_login(mentor.user)
    assert 'id="funding-to-renew"' not in client.get(reverse("dashboard")).content.decode()
