"""Funders' missed-session rules at the month end, each at its edge: the notice period (exactly it, just under it),
the limit per term and per arrangement (exactly N, N + 1), the terms' boundaries (the last day of one, the first of
the next, a day in no term), and the charge (the first hour or the full booked time). Every test runs the month
end's Python path, and on PostgreSQL its SQL path too; each line says the rule it was billed by, on the PDF and in
the accounting export too."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from invoicing.exports import invoice_lines_csv
from invoicing.models import Invoice, InvoiceLine, MissedSessionRule, OutcomePolicy, Term
from invoicing.services import invoices_issue, month_end_generate
from invoicing.services.pdf import invoice_html
from sessions_app.models import CancellationReason, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory
from tests.invoicing.helpers import at, completed_session

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["python", "sql"])
def in_database(request, db):
    if request.param and connection.vendor != "postgresql":
        pytest.skip("the SQL path runs on PostgreSQL")
    return request.param


@pytest.fixture
def funder(db):
    return FunderFactory(name="Student Finance England")


@pytest.fixture
def arrangement(funder, mentee):
    return FundingArrangementFactory(mentee=mentee, funder=funder, reference="DSA-1", hourly_rate=Decimal("60.00"))


def missed(mentor, arrangement, start, *, outcome="did_not_attend", booked=60, notice=None):
    """A missed session wrapped up after its start; `notice`: the hours' notice a late cancellation was recorded
    with (as the wrap-up before the start records it)."""
    appointment = completed_session(mentor, arrangement, start, booked=booked, outcome=outcome)
    if notice is not None:
        ServiceAppointment.objects.filter(pk=appointment.pk).update(notice_hours=Decimal(notice))
    return appointment


def billed(year, month, in_database) -> dict:
    """{SA reference: (minutes, rule)} of the month's invoice lines."""
    month_end_generate(year=year, month=month, in_database=in_database)
    return {line.reference: (line.minutes, line.charge_rule)
            for line in InvoiceLine.objects.filter(invoice__period_start=date(year, month, 1))}


class TestNoticePeriod:
    def test_a_cancellation_with_exactly_the_funders_notice_is_in_advance_and_just_under_is_billed(
            self, mentor, arrangement, funder, in_database):
        MissedSessionRule.objects.create(funder=funder, notice_hours=12)
        exactly = missed(mentor, arrangement, at(2026, 10, 5), outcome="late_cancellation", notice="12.0")
        under = missed(mentor, arrangement, at(2026, 10, 6), outcome="late_cancellation", notice="11.9")
        assert billed(2026, 10, in_database) == {
            under.reference: (60, "Late-notice cancellation, full booked time charged")}
        assert exactly.status == "completed"

    def test_without_rules_the_notice_period_is_the_organisations_late_notice_window(
            self, mentor, arrangement, settings, in_database):
        assert settings.LATE_NOTICE_HOURS == 24
        missed(mentor, arrangement, at(2026, 10, 5), outcome="late_cancellation", notice="24.0")
        under = missed(mentor, arrangement, at(2026, 10, 6), outcome="late_cancellation", notice="23.9")
        after_start = missed(mentor, arrangement, at(2026, 10, 7), outcome="late_cancellation")  # no notice given
        assert set(billed(2026, 10, in_database)) == {under.reference, after_start.reference}

    def test_recorded_through_the_wrap_up_exactly_the_notice_period_before_the_start(
            self, mentor, arrangement, funder, in_database):
        MissedSessionRule.objects.create(funder=funder, notice_hours=12)
        reason = CancellationReason.objects.filter(is_active=True).first()
        references = []
        for day, hours_before in ((5, 12), (6, 11)):
            start = at(2026, 10, day, 14)
            appointment = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=start,
                                             ends_at=start + timedelta(hours=1))
            appointment_wrap_up(
                appointment_id=appointment.pk, acting_user=mentor.user, now=start - timedelta(hours=hours_before),
                answers=WrapUp(outcome="late_cancellation", funding_arrangement=arrangement, cancellation_reason=reason,
                               cancellation_note="Mentee rang in."),
            )
            references.append(appointment.reference)
        assert set(billed(2026, 10, in_database)) == {references[1]}


class TestLimitPerTerm:
    @pytest.fixture(autouse=True)
    def terms(self, db):
        Term.objects.create(name="Autumn 1", starts_on=date(2026, 9, 1), ends_on=date(2026, 10, 15))
        Term.objects.create(name="Autumn 2", starts_on=date(2026, 10, 16), ends_on=date(2026, 10, 25))

    def test_exactly_n_missed_sessions_are_billed_and_the_next_is_not(self, mentor, arrangement, funder,
                                                                        in_database):
        MissedSessionRule.objects.create(funder=funder, missed_limit=2, limit_per="term")
        first = missed(mentor, arrangement, at(2026, 10, 1), outcome="late_cancellation")
        attended = completed_session(mentor, arrangement, at(2026, 10, 2))
        second = missed(mentor, arrangement, at(2026, 10, 3))
        third = missed(mentor, arrangement, at(2026, 10, 4))
        assert billed(2026, 10, in_database) == {
            first.reference: (60, "Late-notice cancellation, 1 of 2 billed in Autumn 1, full booked time charged"),
            attended.reference: (60, "Attended"),
            second.reference: (60, "Did not attend, 2 of 2 billed in Autumn 1, full booked time charged"),
        }  # the third, N + 1, is not billed
        assert third.reference not in InvoiceLine.objects.values_list("reference", flat=True)

    def test_the_count_starts_again_on_the_first_day_of_the_next_term_and_a_day_in_no_term_is_not_limited(
            self, mentor, arrangement, funder, in_database):
        MissedSessionRule.objects.create(funder=funder, missed_limit=1, limit_per="term")
        last_day = missed(mentor, arrangement, at(2026, 10, 15, 23, 30))  # London's 15th: the old term's last day
        first_day = missed(mentor, arrangement, at(2026, 10, 16, 0, 30))  # the new term's first minutes
        over = missed(mentor, arrangement, at(2026, 10, 16, 10))
        no_term = [missed(mentor, arrangement, at(2026, 10, day)) for day in (26, 27)]
        lines = billed(2026, 10, in_database)
        assert lines == {
            last_day.reference: (60, "Did not attend, 1 of 1 billed in Autumn 1, full booked time charged"),
            first_day.reference: (60, "Did not attend, 1 of 1 billed in Autumn 2, full booked time charged"),
            **{s.reference: (60, "Did not attend, full booked time charged") for s in no_term},
        }
        assert over.reference not in lines

    def test_sessions_already_invoiced_count_and_in_advance_or_unbilled_ones_do_not(
            self, mentor, arrangement, funder, in_database):
        MissedSessionRule.objects.create(funder=funder, missed_limit=2, limit_per="term")
        OutcomePolicy.objects.create(funder=funder, outcome="late_cancellation", billed=False, paid=True)
        september = missed(mentor, arrangement, at(2026, 9, 20))
        assert set(billed(2026, 9, in_database)) == {september.reference}
        missed(mentor, arrangement, at(2026, 10, 1), outcome="late_cancellation")  # not billed: not counted
        october = missed(mentor, arrangement, at(2026, 10, 2))
        over = missed(mentor, arrangement, at(2026, 10, 3))
        lines = billed(2026, 10, in_database)
        assert lines == {
            october.reference: (60, "Did not attend, 2 of 2 billed in Autumn 1, full booked time charged")}
        assert over.reference not in lines


class TestLimitPerArrangement:
    def test_each_arrangement_has_its_own_count_across_months(self, mentor, arrangement, funder, in_database):
        MissedSessionRule.objects.create(funder=funder, missed_limit=1, limit_per="arrangement")
        other = FundingArrangementFactory(mentee=arrangement.mentee, funder=funder, reference="DSA-2",
                                          valid_from=date(2026, 10, 10))
        arrangement.valid_until = date(2026, 10, 9)
        arrangement.save()
        first = missed(mentor, arrangement, at(2026, 9, 14))
        assert billed(2026, 9, in_database) == {
            first.reference: (60, "Did not attend, 1 of 1 billed under this arrangement, full booked time charged")}
        over = missed(mentor, arrangement, at(2026, 10, 5))
        other_first = missed(mentor, other, at(2026, 10, 12))
        lines = billed(2026, 10, in_database)
        assert lines == {other_first.reference: (
            60, "Did not attend, 1 of 1 billed under this arrangement, full booked time charged")}
        assert over.reference not in lines


class TestCharge:
    def test_the_first_hour_only_or_the_full_booked_time(self, mentor, arrangement, funder, mentee, in_database):
        MissedSessionRule.objects.create(funder=funder, charge="first_hour")
        long_miss = missed(mentor, arrangement, at(2026, 10, 5), booked=90)
        short_miss = missed(mentor, arrangement, at(2026, 10, 6), booked=45)
        hour_miss = missed(mentor, arrangement, at(2026, 10, 7), booked=60)
        attended = completed_session(mentor, arrangement, at(2026, 10, 8), minutes=90, booked=90)
        other_funder = FundingArrangementFactory(mentee=mentee, funder=FunderFactory(name="University"),
                                                 hourly_rate=Decimal("60.00"))
        full_miss = missed(mentor, other_funder, at(2026, 10, 9), booked=90)
        assert billed(2026, 10, in_database) == {
            long_miss.reference: (60, "Did not attend, first hour charged"),
            short_miss.reference: (45, "Did not attend, first hour charged"),
            hour_miss.reference: (60, "Did not attend, first hour charged"),
            attended.reference: (90, "Attended"),
            full_miss.reference: (90, "Did not attend, full booked time charged"),
        }
        invoice = InvoiceLine.objects.get(reference=long_miss.reference).invoice
        assert invoice.net == Decimal("60.00") + Decimal("45.00") + Decimal("60.00") + Decimal("90.00")


def test_the_rule_shows_on_the_pdf_line_and_in_the_accounting_export(mentor, arrangement, funder, finance_user):
    MissedSessionRule.objects.create(funder=funder, charge="first_hour", missed_limit=3, limit_per="arrangement")
    missed(mentor, arrangement, at(2026, 10, 5), booked=90)
    month_end_generate(year=2026, month=10)
    invoice = Invoice.objects.get()
    invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user, today=date(2026, 10, 31))
    invoice.refresh_from_db()
    rule = "Did not attend, 1 of 3 billed under this arrangement, first hour charged"
    assert rule in invoice_html(invoice, inline_css=False)
    assert f"({rule}), 60 min" in "".join(invoice_lines_csv(invoices=Invoice.objects.all()))
