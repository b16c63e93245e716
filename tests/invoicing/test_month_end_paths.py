"""The month end has two implementations of its lines: on PostgreSQL the database writes them (INSERT ... SELECT,
invoicing/services/month_end_sql.py), elsewhere Python does (month_end.py). Both run here on PostgreSQL, each on the
same random completed sessions across the year (clock changes, midnight, the months' first and last minutes), and
must write the same invoices and payment statements: the same lines (which sessions, dates, minutes, rates,
amounts), totals, VAT, numbers once issued, and the same summary. Two funders have missed-session rules (a notice
period, a limit per term or per arrangement, the first hour or the full time) over three terms, so both paths
number, skip and charge missed sessions alike, and say the same rule on each line. One of them is billed only for
sessions the mentee confirmed: the sessions' sign-offs are waiting, disputed, or confirmed at a random moment of the
year (before or after the month's end), so both paths bill the same confirmed sessions in the same month. A second run of the month (or the next) after
more sessions are wrapped up extends the drafts, or, once they are issued, leaves the sessions for the next month.
"""

import dataclasses
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from invoicing.models import (
    Invoice, InvoiceLine, MentorPayRate, MissedSessionRule, OutcomePolicy, PaymentStatement, StatementLine, Term,
)
from invoicing.services import invoices_issue, month_end_generate, statements_issue
from sessions_app import roles
from sessions_app.models import ServiceAppointment, SessionSignOff
from sessions_app.selectors import last_day_of_month
from tests import moments
from tests.factories import FunderFactory, FundingArrangementFactory, MenteeFactory, MentorFactory, UserFactory
from tests.strategies import examples

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome


@contextmanager
def rolled_back():
    """Writes undone afterwards: a savepoint inside the test's transaction, rolled back."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


@dataclasses.dataclass
class World:
    mentors: list
    leader: object
    arrangements: list


@pytest.fixture
def world(db) -> World:
    """Two mentors who share a name (one whose pay rate changes twice in the year, once on the day the clocks go
    back), Senior Leadership, a funder invoiced per arrangement, one that asks for a single monthly invoice and has
    its own policy, and a self-funded mentee with two arrangements (a new rate from July)."""
    mentors = [MentorFactory(user__full_name="Ann Mentor", hourly_pay_rate=Decimal("30.00")),
               MentorFactory(user__full_name="Ann Mentor", hourly_pay_rate=Decimal("27.35"))]
    MentorPayRate.objects.create(mentor=mentors[0], hourly_rate=Decimal("31.10"), valid_from=date(moments.YEAR, 6, 1))
    MentorPayRate.objects.create(mentor=mentors[0], hourly_rate=Decimal("33.33"), valid_from=moments.CLOCKS_BACK)
    leader = UserFactory(full_name="Lee Leader", roles=[roles.SENIOR_LEADERSHIP])
    per_arrangement = FunderFactory(name="Student Finance England", bill_only_confirmed=True)
    single = FunderFactory(name="University of Poppleton", single_monthly_invoice=True)
    OutcomePolicy.objects.create(funder=single, outcome=Outcome.DID_NOT_ATTEND, billed=False, paid=True)
    OutcomePolicy.objects.create(funder=single, outcome=Outcome.LATE_CANCELLATION, billed=True, paid=False)
    MissedSessionRule.objects.create(funder=per_arrangement, notice_hours=48, missed_limit=2, limit_per="term",
                                     charge="first_hour")
    MissedSessionRule.objects.create(funder=single, notice_hours=12, missed_limit=1, limit_per="arrangement")
    for name, first, last in (("Spring", (1, 5), (3, 31)), ("Summer", (4, 15), (7, 15)), ("Autumn", (9, 1), (12, 15))):
        Term.objects.create(name=f"{name} {moments.YEAR}", starts_on=date(moments.YEAR, *first),
                            ends_on=date(moments.YEAR, *last))
    mo, kit, sam = (MenteeFactory(full_name=name) for name in ("Mo Mentee", "Kit Mentee", "Sam Mentee"))
    arrangements = [
        FundingArrangementFactory(mentee=mo, funder=per_arrangement, reference="SFE-1", hourly_rate=Decimal("55.00")),
        FundingArrangementFactory(mentee=mo, funder=per_arrangement, reference="SFE-2", hourly_rate=Decimal("47.33")),
        FundingArrangementFactory(mentee=kit, funder=single, reference="PO-77", hourly_rate=Decimal("0.30")),
        FundingArrangementFactory(mentee=kit, funder=single, reference="PO-78", hourly_rate=Decimal("61.99")),
        FundingArrangementFactory(mentee=sam, self_funded=True, hourly_rate=Decimal("40.00"),
                                  valid_until=date(moments.YEAR, 6, 30)),
        FundingArrangementFactory(mentee=sam, self_funded=True, hourly_rate=Decimal("42.50"),
                                  valid_from=date(moments.YEAR, 7, 1)),
    ]
    return World(mentors=mentors, leader=leader, arrangements=arrangements)


def wrapped_up(starts) -> st.SearchStrategy[tuple]:
    """A wrapped-up session: when, how long booked, whose, funded by which arrangement (None: none chosen),
    outcome, status, the actual minutes recorded (None: the booked time counts), wrapped up by the mentor or on
    their behalf, the notice a late-notice cancellation was given (hours; None: recorded after the start)."""
    return st.tuples(
        starts, moments.booked, st.integers(0, 1), st.sampled_from([None, 0, 1, 2, 3, 4, 5]),
        st.sampled_from(Outcome.values), st.sampled_from([Status.COMPLETED] * 4 + [Status.AWAITING_FINANCE]),
        st.one_of(st.none(), st.integers(1, 180)), st.booleans(),
        st.sampled_from([None, "0.0", "11.9", "12.0", "23.9", "24.0", "47.9", "48.0"]),
        st.one_of(st.none(), st.tuples(st.sampled_from(["pending", "disputed", "confirmed", "confirmed"]),
                                       moments.starts)),
    )


@st.composite
def scenarios(draw):
    """The month to run, the sessions wrapped up before it runs and after (most of them around that month, the
    rest anywhere in the year), whether the second run is for the next month, and whether Finance issues what the
    first run made before the second."""
    month = draw(st.integers(1, 12))
    sessions = wrapped_up(st.one_of(moments.starts_around(month), moments.starts_around(month),
                                    moments.starts_around(min(month + 1, 12)), moments.starts))
    return (month, draw(st.lists(sessions, min_size=2, max_size=10)), draw(st.lists(sessions, max_size=5)),
            draw(st.booleans()), draw(st.booleans()))


def wrap_up(world: World, drawn, first_number: int) -> list[ServiceAppointment]:
    """The drawn sessions, as the wrap-up leaves them, written in one statement."""
    sessions = []
    sign_offs = []
    for n, (starts_at, length, mentor, arrangement, outcome, status, actual, for_mentor, notice,
            sign_off) in enumerate(drawn):
        sign_offs.append(sign_off)
        funding = world.arrangements[arrangement] if arrangement is not None else None
        mentor = world.mentors[mentor]
        sessions.append(ServiceAppointment(
            reference=f"SA-{first_number + n:06d}", mentor=mentor,
            mentee=funding.mentee if funding else world.arrangements[0].mentee,
            starts_at=starts_at, ends_at=starts_at + length, status=status, outcome=outcome,
            funding_arrangement=funding, actual_minutes=actual, session_notes="Notes",
            admin_details="Which funding?" if status == Status.AWAITING_FINANCE else "",
            wrapped_up_by=world.leader if for_mentor else mentor.user, wrapped_up_at=starts_at + length,
            notice_hours=Decimal(notice) if notice is not None and outcome == Outcome.LATE_CANCELLATION else None,
        ))
    sessions = ServiceAppointment.objects.bulk_create(sessions)
    SessionSignOff.objects.bulk_create(
        SessionSignOff(appointment=session, state=state, answered_at=None if state == "pending" else at,
                       how="" if state == "pending" else "link")
        for session, drawn_sign_off in zip(sessions, sign_offs) if drawn_sign_off is not None
        for state, at in [drawn_sign_off])
    return sessions


def written() -> dict:
    """Everything the month end wrote, without the ids that differ between two runs."""
    invoice = ("invoice__period_start", "invoice__group_key")
    statement = ("statement__period_start", "statement__mentor_id")
    return {
        "invoices": sorted(Invoice.objects.values_list(
            "period_start", "group_key", "status", "number", "period_end", "funder_id", "funding_arrangement_id",
            "mentee_id", "bill_to_name", "bill_to_email", "bill_to_address", "customer_reference", "vat_rate", "net",
            "vat", "total")),
        "invoice lines": sorted(InvoiceLine.objects.values_list(
            *invoice, "appointment__reference", "session_date", "reference", "mentee_name", "outcome", "minutes",
            "hourly_rate", "net", "is_late", "released", "charge_rule")),
        "statements": sorted(PaymentStatement.objects.values_list(
            "period_start", "mentor_id", "status", "number", "period_end", "total")),
        "statement lines": sorted(StatementLine.objects.values_list(
            *statement, "appointment__reference", "session_date", "reference", "mentee_name", "outcome", "minutes",
            "hourly_rate", "amount", "wrapped_up_by_name", "on_behalf", "is_late")),
        "invoice history": sorted(Invoice.history.values_list("history_type", "history_change_reason", "number")),
        "statement history": sorted(PaymentStatement.history.values_list("history_type", "history_change_reason")),
    }


def month_end(world, first, later, month: int, next_month: int, issue: bool, *, in_database: bool):
    """Run the month end, maybe issue what it made, wrap up more sessions, run it again for the same month or the
    next; what it wrote and its two summaries."""
    summaries = [month_end_generate(year=moments.YEAR, month=month, in_database=in_database)]
    if issue:
        today = last_day_of_month(date(moments.YEAR, month, 1))
        invoices_issue(invoice_ids=Invoice.objects.values_list("pk", flat=True), acting_user=None, today=today)
        statements_issue(statement_ids=PaymentStatement.objects.values_list("pk", flat=True), acting_user=None,
                         today=today)
    wrap_up(world, later, first_number=len(first) + 1)
    summaries.append(month_end_generate(year=moments.YEAR, month=next_month, in_database=in_database))
    return written(), [dataclasses.asdict(summary) for summary in summaries]


def check_against_the_sessions(lines) -> None:
    """Each line is dated its session's London day, and counts the minutes recorded, or else the booked whole
    minutes."""
    sessions = {s.reference: s for s in ServiceAppointment.objects.all()}
    for line in lines:
        reference, day, minutes = line[2], line[3], line[7]
        session = sessions[reference]
        booked = int((session.ends_at - session.starts_at).total_seconds() // 60)
        expected = session.actual_minutes or booked
        if isinstance(line[-1], str) and line[-1].endswith("first hour charged"):  # an invoice line under a first-hour funder's rule
            expected = min(expected, 60)
        assert (day, minutes) == (timezone.localdate(session.starts_at), expected), reference


@examples(15)
@given(scenario=scenarios())
def test_both_month_end_paths_write_the_same_invoices_and_statements(world, scenario):
    month, first, later, next_month, issue = scenario
    second_month = min(month + next_month, 12)
    with rolled_back():
        wrap_up(world, first, first_number=1)
        results = {}
        for in_database in (False, True):
            with rolled_back():
                results[in_database] = month_end(world, first, later, month, second_month, issue,
                                                 in_database=in_database)
                check_against_the_sessions(results[in_database][0]["invoice lines"])
                check_against_the_sessions(results[in_database][0]["statement lines"])
        by_python, in_sql = results[False], results[True]
        for part in by_python[0]:
            assert in_sql[0][part] == by_python[0][part], part
        assert in_sql[1] == by_python[1]
