from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from invoicing.models import Invoice, InvoiceLine, MentorPayRate, OutcomePolicy, PaymentStatement, StatementLine
from invoicing.services import invoice_credit, invoices_issue, month_end_generate, statements_issue
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_finance_complete, appointment_wrap_up
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory, MenteeFactory, MentorFactory
from tests.invoicing.helpers import at, completed_session


@pytest.fixture
def funder(db):
    return FunderFactory(name="Student Finance England")


@pytest.fixture
def arrangement(funder, mentee):
    return FundingArrangementFactory(mentee=mentee, funder=funder, reference="SFE-1", hourly_rate=Decimal("55.00"))


def november(**kwargs):
    return month_end_generate(year=2026, month=11, **kwargs)


class TestTotals:
    def test_lines_round_to_the_penny_and_vat_is_on_the_invoice_net(self, mentor, arrangement):
        completed_session(mentor, arrangement, at(2026, 11, 3), minutes=50)   # 55 x 50/60 = 45.8333 -> 45.83
        completed_session(mentor, arrangement, at(2026, 11, 4), minutes=35)   # 55 x 35/60 = 32.0833 -> 32.08
        completed_session(mentor, arrangement, at(2026, 11, 5), minutes=25, booked=30)  # 22.9166 -> 22.92
        november()
        invoice = Invoice.objects.get()
        assert sorted(invoice.lines.values_list("net", flat=True)) == [Decimal("22.92"), Decimal("32.08"), Decimal("45.83")]
        assert invoice.net == Decimal("100.83")
        assert invoice.vat == Decimal("20.17")  # 20.166 rounds half up
        assert invoice.total == Decimal("121.00")
        assert invoice.customer_reference == "SFE-1" and invoice.bill_to_name == "Student Finance England"
        assert (invoice.period_start, invoice.period_end) == (date(2026, 11, 1), date(2026, 11, 30))

    def test_vat_is_worked_out_once_on_the_invoice_net_not_line_by_line(self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hourly_rate=Decimal("60.18"))
        for day in (3, 4, 5):
            completed_session(mentor, arrangement, at(2026, 11, day), minutes=10)  # 10.03 each, VAT 2.006 each
        november()
        invoice = Invoice.objects.get()
        assert list(invoice.lines.values_list("net", flat=True)) == [Decimal("10.03")] * 3
        # 20 % of 30.09 is 6.018: 6.02 on the invoice, where rounding each line's VAT would have given 3 x 2.01.
        assert (invoice.net, invoice.vat, invoice.total) == (Decimal("30.09"), Decimal("6.02"), Decimal("36.11"))

    def test_statement_lines_round_to_the_penny_and_add_up_to_the_total(self, mentor, arrangement):
        mentor.hourly_pay_rate = Decimal("32.50")
        mentor.save()
        completed_session(mentor, arrangement, at(2026, 11, 3), minutes=50)   # 32.50 x 50/60 = 27.0833 -> 27.08
        completed_session(mentor, arrangement, at(2026, 11, 4), minutes=35)   # 32.50 x 35/60 = 18.9583 -> 18.96
        completed_session(mentor, arrangement, at(2026, 11, 5), minutes=6)    # 32.50 x 6/60 = 3.25
        november()
        statement = PaymentStatement.objects.get()
        assert [line.amount for line in statement.lines.order_by("session_date")] == [
            Decimal("27.08"), Decimal("18.96"), Decimal("3.25")]
        assert statement.total == Decimal("49.29")

    def test_statement_half_pennies_round_up(self, mentor, arrangement):
        mentor.hourly_pay_rate = Decimal("0.30")
        mentor.save()
        completed_session(mentor, arrangement, at(2026, 11, 3), minutes=5)  # 0.30 x 5/60 = 0.025 -> 0.03
        november()
        assert StatementLine.objects.get().amount == Decimal("0.03")

    def test_half_pennies_round_up(self, mentor, mentee, funder):
        arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, hourly_rate=Decimal("0.30"))
        completed_session(mentor, arrangement, at(2026, 11, 3), minutes=5)  # 0.30 x 5/60 = 0.025 -> 0.03
        november()
        assert InvoiceLine.objects.get().net == Decimal("0.03")

    def test_mentor_pay_uses_the_rate_applying_on_the_session_date(self, mentor, arrangement):
        mentor.hourly_pay_rate = Decimal("30.00")
        mentor.save()
        MentorPayRate.objects.create(mentor=mentor, hourly_rate=Decimal("33.00"), valid_from=date(2026, 11, 15))
        completed_session(mentor, arrangement, at(2026, 11, 14), minutes=45)  # 22.50
        completed_session(mentor, arrangement, at(2026, 11, 15), minutes=45)  # 24.75
        november()
        statement = PaymentStatement.objects.get()
        assert [line.amount for line in statement.lines.order_by("session_date")] == [Decimal("22.50"), Decimal("24.75")]
        assert statement.total == Decimal("47.25")


    def test_a_booked_time_with_odd_seconds_counts_its_whole_minutes(self, mentor, arrangement):
        # Booked in the admin from 10:00:00 to 10:45:30; nobody recorded how long it took (did not attend): 45
        # minutes, as the dashboard counts it. PostgreSQL's path once rounded to 46.
        start = at(2026, 11, 3)
        appointment = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=start,
                                         ends_at=start + timedelta(minutes=45, seconds=30))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, now=start + timedelta(hours=1),
                            answers=WrapUp(outcome="did_not_attend", funding_arrangement=arrangement,
                                           session_notes="Did not come"))
        november()
        assert appointment.booked_minutes == 45
        assert list(InvoiceLine.objects.values_list("minutes", "net")) == [(45, Decimal("41.25"))]
        assert list(StatementLine.objects.values_list("minutes", "amount")) == [(45, Decimal("22.50"))]


class TestGrouping:
    def test_one_invoice_per_arrangement_per_month(self, mentor, funder):
        first = FundingArrangementFactory(funder=funder, reference="PO-A")
        second = FundingArrangementFactory(funder=funder, reference="PO-B")
        for arrangement in (first, first, second):
            completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        assert sorted(Invoice.objects.values_list("customer_reference", "net")) == [
            ("PO-A", Decimal("110.00")), ("PO-B", Decimal("55.00"))]

    def test_a_funder_can_ask_for_a_single_monthly_invoice(self, mentor, funder):
        funder.single_monthly_invoice = True
        funder.save()
        for reference in ("PO-A", "PO-B"):
            completed_session(mentor, FundingArrangementFactory(funder=funder, reference=reference), at(2026, 11, 3))
        november()
        invoice = Invoice.objects.get()
        assert invoice.group_key == f"funder:{funder.pk}" and invoice.lines.count() == 2

    def test_self_funded_sessions_are_invoiced_to_the_mentee(self, mentor):
        mentee = MenteeFactory(full_name="Sam Self", email="sam@example.org", address="2 Road\nTown")
        arrangement = FundingArrangementFactory(mentee=mentee, self_funded=True)
        completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        invoice = Invoice.objects.get()
        assert (invoice.bill_to_name, invoice.bill_to_email, invoice.bill_to_address) == ("Sam Self", "sam@example.org", "2 Road\nTown")
        assert invoice.funder is None and invoice.net == Decimal("40.00")

    def test_a_self_funded_invoice_names_the_arrangement_of_the_months_first_session(self, mentor):
        mentee = MenteeFactory(full_name="Sam Self")
        later = FundingArrangementFactory(mentee=mentee, self_funded=True, valid_from=date(2026, 11, 20))
        # Entered afterwards, backdated: the arrangement the start of the month was under.
        earlier = FundingArrangementFactory(mentee=mentee, self_funded=True, valid_from=date(2026, 11, 1),
                                            valid_until=date(2026, 11, 19), hourly_rate=Decimal("38.00"))
        completed_session(mentor, later, at(2026, 11, 25))
        completed_session(mentor, earlier, at(2026, 11, 3))
        november()
        invoice = Invoice.objects.get()
        assert invoice.funding_arrangement == earlier and invoice.group_key == f"mentee:{mentee.pk}"
        assert invoice.net == Decimal("78.00")

    def test_one_statement_per_mentor_saying_who_wrapped_up(self, mentor, other_mentor, leader, arrangement):
        completed_session(mentor, arrangement, at(2026, 11, 3))
        completed_session(mentor, arrangement, at(2026, 11, 4), by=leader)
        completed_session(other_mentor, arrangement, at(2026, 11, 5))
        november()
        statement = PaymentStatement.objects.get(mentor=mentor)
        assert [(l.wrapped_up_by_name, l.on_behalf) for l in statement.lines.order_by("session_date")] == [
            ("Ann Mentor", False), ("Lee Leader", True)]
        assert PaymentStatement.objects.count() == 2


class TestPolicy:
    def test_defaults_bill_and_pay_everything_but_cancelled(self, mentor, leader, arrangement):
        for day, outcome in ((3, "attended"), (4, "late_cancellation"), (5, "did_not_attend")):
            completed_session(mentor, arrangement, at(2026, 11, day), outcome=outcome)
        cancelled = completed_session(mentor, arrangement, at(2026, 11, 6), outcome="cancelled", by=leader)
        november()
        assert InvoiceLine.objects.count() == 3 and StatementLine.objects.count() == 3
        assert not InvoiceLine.objects.filter(appointment=cancelled).exists()

    def test_a_funder_can_refuse_to_pay_for_did_not_attend(self, mentor, funder, arrangement):
        OutcomePolicy.objects.create(funder=funder, outcome="did_not_attend", billed=False, paid=True)
        other = FundingArrangementFactory()  # another funder: the default applies
        completed_session(mentor, arrangement, at(2026, 11, 5), outcome="did_not_attend")
        completed_session(mentor, other, at(2026, 11, 5), outcome="did_not_attend")
        november()
        assert list(InvoiceLine.objects.values_list("invoice__funder", flat=True)) == [other.funder_id]
        assert StatementLine.objects.count() == 2  # the mentor is still paid for both

    def test_the_database_allows_one_default_rule_per_outcome(self, db):
        with pytest.raises(IntegrityError), transaction.atomic():
            OutcomePolicy.objects.create(funder=None, outcome="attended", billed=False, paid=False)


class TestWhatGoesIntoWhichMonth:
    def test_sessions_after_the_period_wait_for_their_month(self, mentor, arrangement):
        completed_session(mentor, arrangement, at(2026, 12, 1, 0, 30))
        summary = november()
        assert summary.invoice_lines == 0 and not Invoice.objects.exists()

    def test_month_boundary_at_the_clock_change(self, mentor, arrangement):
        # 00:30 on 1 April 2026 in London is 23:30 UTC on 31 March: it belongs to April.
        april_first = completed_session(mentor, arrangement, at(2026, 4, 1, 0, 30))
        march_last = completed_session(mentor, arrangement, at(2026, 3, 31, 23, 30))
        month_end_generate(year=2026, month=3)
        assert list(InvoiceLine.objects.values_list("appointment", flat=True)) == [march_last.pk]
        month_end_generate(year=2026, month=4)
        assert InvoiceLine.objects.get(appointment=april_first).session_date == date(2026, 4, 1)

    def test_session_days_follow_the_configured_time_zone(self, settings, mentor, arrangement):
        settings.TIME_ZONE = "Australia/Sydney"
        # 23:30 UTC on 3 November is 10:30 on 4 November in Sydney; the pay rate changes that day.
        MentorPayRate.objects.create(mentor=mentor, hourly_rate=Decimal("36.00"), valid_from=date(2026, 11, 4))
        completed_session(mentor, arrangement, datetime(2026, 11, 3, 23, 30, tzinfo=dt_timezone.utc))
        november()
        assert list(InvoiceLine.objects.values_list("session_date", flat=True)) == [date(2026, 11, 4)]
        assert list(StatementLine.objects.values_list("session_date", "amount")) == [
            (date(2026, 11, 4), Decimal("36.00"))]

    def test_late_wrap_ups_go_on_the_next_months_documents_marked_late(self, mentor, arrangement):
        on_time = completed_session(mentor, arrangement, at(2026, 10, 20))
        month_end_generate(year=2026, month=10)
        late = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=at(2026, 10, 21),
                                  ends_at=at(2026, 10, 21, 11))
        appointment_wrap_up(appointment_id=late.pk, acting_user=mentor.user, now=at(2026, 11, 2),
                            answers=WrapUp(outcome="attended", funding_arrangement=arrangement, session_notes="n",
                                           actual_minutes=60))
        summary = november()
        line = InvoiceLine.objects.get(appointment=late)
        assert line.is_late and line.invoice.period_start == date(2026, 11, 1)
        assert StatementLine.objects.get(appointment=late).is_late
        assert not InvoiceLine.objects.get(appointment=on_time).is_late
        assert summary.late_lines == 2

    def test_awaiting_finance_waits_until_finance_completes(self, mentor, finance_user, arrangement):
        appointment = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=at(2026, 11, 3),
                                         ends_at=at(2026, 11, 3, 11))
        appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user, now=at(2026, 11, 3, 12),
                            answers=WrapUp(outcome="attended", session_notes="n", actual_minutes=60,
                                           admin_details="Not sure which PO"))
        assert november().awaiting_finance == 1 and not InvoiceLine.objects.exists()
        appointment_finance_complete(appointment_id=appointment.pk, acting_user=finance_user,
                                     funding_arrangement=arrangement, reply="It is SFE-1.")
        november()
        assert InvoiceLine.objects.filter(appointment=appointment).exists()


class TestRunningAgain:
    def test_running_twice_changes_nothing(self, mentor, arrangement):
        completed_session(mentor, arrangement, at(2026, 11, 3))
        first = november()
        snapshot = list(InvoiceLine.objects.values_list("pk", "net")), list(Invoice.objects.values_list("pk", "total"))
        second = november()
        assert (first.invoice_lines, first.statement_lines) == (1, 1)
        assert (second.invoice_lines, second.statement_lines, second.invoices_created) == (0, 0, 0)
        assert (list(InvoiceLine.objects.values_list("pk", "net")), list(Invoice.objects.values_list("pk", "total"))) == snapshot

    def test_a_new_session_extends_the_draft(self, mentor, arrangement):
        completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        completed_session(mentor, arrangement, at(2026, 11, 4))
        summary = november()
        assert summary.invoices_extended == 1 and Invoice.objects.get().net == Decimal("110.00")
        assert PaymentStatement.objects.get().total == Decimal("60.00")

    def test_a_session_for_an_issued_invoice_waits_for_next_month(self, mentor, finance_user, arrangement):
        completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        invoice = Invoice.objects.get()
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user, today=date(2026, 12, 1))
        statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)), acting_user=finance_user)
        late = completed_session(mentor, arrangement, at(2026, 11, 4))
        assert november().waiting_for_issued == 2
        invoice.refresh_from_db()
        assert invoice.lines.count() == 1 and invoice.net == Decimal("55.00")
        month_end_generate(year=2026, month=12)
        assert InvoiceLine.objects.get(appointment=late).is_late


class TestIssuingAndCrediting:
    def test_issuing_numbers_invoices_in_sequence_per_year(self, mentor, finance_user, funder):
        for reference in ("PO-A", "PO-B", "PO-C"):
            completed_session(mentor, FundingArrangementFactory(funder=funder, reference=reference), at(2026, 11, 3))
        november()
        ids = list(Invoice.objects.order_by("pk").values_list("pk", flat=True))
        invoices_issue(invoice_ids=ids[:2], acting_user=finance_user, today=date(2026, 12, 1))
        invoices_issue(invoice_ids=ids, acting_user=finance_user, today=date(2026, 12, 1))
        assert sorted(Invoice.objects.values_list("number", flat=True)) == [
            "INV-2026-000001", "INV-2026-000002", "INV-2026-000003"]
        invoice = Invoice.objects.get(number="INV-2026-000001")
        assert invoice.due_date == date(2026, 12, 31) and invoice.issued_by == finance_user
        statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                         acting_user=finance_user, today=date(2027, 1, 2))
        assert PaymentStatement.objects.get().number == "PAY-2027-000001"

    def test_invoices_to_one_funder_are_numbered_in_the_order_of_their_first_session(self, mentor, finance_user,
                                                                                      funder):
        arrangements = [FundingArrangementFactory(funder=funder, reference=f"PO-{n}") for n in range(6)]
        for day, n in enumerate((4, 1, 5, 0, 3, 2), start=2):
            completed_session(mentor, arrangements[n], at(2026, 11, day))
        november()
        invoices_issue(invoice_ids=Invoice.objects.values_list("pk", flat=True), acting_user=finance_user,
                       today=date(2026, 12, 1))
        assert list(Invoice.objects.order_by("number").values_list("customer_reference", flat=True)) == [
            "PO-4", "PO-1", "PO-5", "PO-0", "PO-3", "PO-2"]

    def test_statements_of_mentors_with_one_name_are_numbered_in_the_order_of_their_first_session(
            self, finance_user, arrangement):
        mentors = [MentorFactory(user__full_name="Sam Smith") for _ in range(6)]
        for day, n in enumerate((4, 1, 5, 0, 3, 2), start=2):
            completed_session(mentors[n], arrangement, at(2026, 11, day))
        november()
        statements_issue(statement_ids=PaymentStatement.objects.values_list("pk", flat=True), acting_user=finance_user,
                         today=date(2026, 12, 1))
        assert list(PaymentStatement.objects.order_by("number").values_list("mentor", flat=True)) == [
            mentors[n].pk for n in (4, 1, 5, 0, 3, 2)]

    def test_a_credit_note_releases_the_sessions_to_be_invoiced_again(self, mentor, finance_user, arrangement):
        session = completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        invoice = Invoice.objects.get()
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user, today=date(2026, 12, 1))
        credit = invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="Wrong PO", today=date(2026, 12, 2))
        assert credit.number == "CN-2026-000001" and credit.total == Decimal("66.00")
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.CREDITED
        month_end_generate(year=2026, month=12)
        again = InvoiceLine.objects.get(appointment=session, released=False)
        assert again.invoice != invoice and again.is_late
        assert StatementLine.objects.filter(appointment=session).count() == 1  # pay is not affected

    def test_crediting_twice_or_a_draft_is_refused(self, mentor, finance_user, arrangement):
        from django.core.exceptions import ValidationError

        completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        invoice = Invoice.objects.get()
        with pytest.raises(ValidationError, match="A draft invoice has not been issued, so it needs no credit note."):
            invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="x")
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user)
        invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="x")
        with pytest.raises(ValidationError, match="has already been credited by CN-"):
            invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="x")

    def test_the_database_refuses_a_session_on_two_live_invoices(self, mentor, arrangement):
        session = completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        line = InvoiceLine.objects.get()
        with pytest.raises(IntegrityError), transaction.atomic():
            InvoiceLine.objects.create(invoice=line.invoice, appointment=session, session_date=line.session_date,
                                       reference="x", mentee_name="x", outcome="attended", minutes=1,
                                       hourly_rate=1, net=1)


class TestAfterInvoicing:
    def test_finance_can_have_documents_issued_automatically(self, mentor, arrangement):
        from invoicing.models import OrganisationDetails

        OrganisationDetails.objects.filter(pk=1).update(issue_automatically=True)
        completed_session(mentor, arrangement, at(2026, 11, 3))
        assert november().issued == 2
        assert Invoice.objects.get().number.startswith("INV-") and PaymentStatement.objects.get().number.startswith("PAY-")

    def test_a_session_on_an_issued_invoice_cannot_be_wrapped_up_or_changed(self, mentor, leader, finance_user, arrangement):
        from django.core.exceptions import ValidationError

        from sessions_app.exceptions import AppointmentAlreadyWrappedUp
        from sessions_app.services import appointment_reschedule

        session = completed_session(mentor, arrangement, at(2026, 11, 3))
        november()
        invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=finance_user)
        for user in (mentor.user, leader, finance_user):
            with pytest.raises(AppointmentAlreadyWrappedUp):
                appointment_wrap_up(appointment_id=session.pk, acting_user=user,
                                    answers=WrapUp(outcome="did_not_attend", funding_arrangement=arrangement))
        with pytest.raises(ValidationError, match="only a Scheduled session can be changed"):
            appointment_reschedule(appointment_id=session.pk, acting_user=finance_user, starts_at=at(2026, 11, 4),
                                   ends_at=at(2026, 11, 4, 11), mode="online", location="")
        session.refresh_from_db()
        assert (session.status, session.outcome) == (ServiceAppointment.Status.COMPLETED, "attended")


def test_the_month_end_task_does_its_month_on_the_last_day_and_last_month_if_held_up_past_midnight(mentor, arrangement):
    from invoicing.tasks import run_month_end

    completed_session(mentor, arrangement, at(2026, 11, 3))
    assert run_month_end("2026-11-29") == "2026-11-29: not the last day of the month"
    assert not Invoice.objects.exists()
    assert run_month_end("2026-12-01").startswith("Month end November 2026")
    assert Invoice.objects.get().period_start == date(2026, 11, 1)


class TestQueryCount:
    """The month end costs the same number of queries however many sessions, mentors and customers it covers."""

    @staticmethod
    def _sessions(year, month, mentors, per_kind):
        from tests.factories import MentorFactory

        monthly = FunderFactory(single_monthly_invoice=True)
        for _ in range(mentors):
            mentor = MentorFactory()
            arrangements = [FundingArrangementFactory(funder=FunderFactory()),
                            FundingArrangementFactory(funder=monthly),
                            FundingArrangementFactory(self_funded=True)]
            for arrangement in arrangements:
                for day in range(per_kind):
                    completed_session(mentor, arrangement, at(year, month, 3 + day))

    @staticmethod
    def _queries(year, month):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            summary = month_end_generate(year=year, month=month)
        return len(queries), summary

    def test_queries_do_not_grow_with_the_month(self, db):
        self._sessions(2026, 10, mentors=1, per_kind=1)
        small, october = self._queries(2026, 10)
        self._sessions(2026, 11, mentors=4, per_kind=3)
        large, november = self._queries(2026, 11)
        assert (october.invoice_lines, november.invoice_lines) == (3, 36)
        assert (october.statements_created, november.statements_created) == (1, 4)
        assert small == large
