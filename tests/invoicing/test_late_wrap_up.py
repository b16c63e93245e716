"""A session wrapped up after its month's payment statement was issued is not on that statement: the mentor's
dashboard and the session's page say which statement pays it instead, as the statements do."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from invoicing.models import PaymentStatement, StatementLine
from invoicing.services import month_end_generate, statements_issue
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory

LONDON = ZoneInfo("Europe/London")
Outcome = ServiceAppointment.Outcome
MOVES = ("Moves to the November 2026 payment statement: it was wrapped up after the October 2026 statement was "
         "issued.")
PAID_LATER = ("Paid on the November 2026 payment statement: it was wrapped up after the October 2026 statement was "
              "issued.")


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


def on(day: date, hour: int = 12):
    """The clock on that day (London time), ticking."""
    return time_machine.travel(datetime.combine(day, time(hour), tzinfo=LONDON), tick=True)


def booked(mentor, arrangement, day: date) -> ServiceAppointment:
    start = timezone.make_aware(datetime.combine(day, time(10)))
    return AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=start,
                              ends_at=start + timedelta(hours=1))


def wrap_up(appointment, by, outcome=Outcome.ATTENDED, arrangement=None):
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=by,
                               answers=WrapUp(outcome=outcome, funding_arrangement=arrangement,
                                              session_notes="Went well."))


@pytest.fixture
def october(mentor, mentee):
    """Ann's sessions on 6 and 20 October 2026. The first is wrapped up in October; the October statement is
    issued on 2 November with it alone; the second is wrapped up on 5 November."""
    arrangement = FundingArrangementFactory(mentee=mentee)
    with on(date(2026, 10, 6)):
        early, late = booked(mentor, arrangement, date(2026, 10, 6)), booked(mentor, arrangement, date(2026, 10, 20))
    with on(date(2026, 10, 7)):
        wrap_up(early, mentor.user, arrangement=arrangement)
    with on(date(2026, 10, 31), 20):
        month_end_generate(year=2026, month=10)
    with on(date(2026, 11, 2)):
        statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                         acting_user=None)
    with on(date(2026, 11, 5)):
        wrap_up(late, mentor.user, arrangement=arrangement)
    return arrangement, early, late


def seen(client, user, day: date, url: str, **params) -> str:
    """The page as `user` sees it on that day (logged in that day: a log-in lasts 8 hours)."""
    with on(day):
        client.force_login(user)
        response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def pay_cells(page: str) -> dict[str, str]:
    """The dashboard's Pay cell for each session, as text."""
    import re

    cells = re.findall(r'href="[^"]*/(SA-\d+)/".*?<td data-label="Pay" class="num">(.*?)</td>', page, re.S)
    return {reference: " ".join(re.sub(r"<[^>]+>", " ", cell).split()) for reference, cell in cells}


def test_the_mentors_dashboard_says_the_late_session_moves_to_next_months_statement(october, mentor, client):
    _, early, late = october
    statement = PaymentStatement.objects.get()
    assert list(statement.lines.values_list("appointment", flat=True)) == [early.pk]  # issued without it

    page = seen(client, mentor.user, date(2026, 11, 5), reverse("dashboard"), month="2026-10")

    assert pay_cells(page) == {early.reference: "£30.00",
                               late.reference: "£30.00 moves to the November 2026 statement"}
    assert ("£30.00 of this is for sessions wrapped up after the October 2026 payment statement was issued: a later "
            "statement pays them, as shown against each.") in page
    assert statement.total == Decimal("30.00")  # what the October statement says: the £60.00 less the £30.00 moved


def test_the_session_page_says_so_to_everyone_who_sees_it(october, mentor, leader, finance_user, client):
    _, early, late = october
    for user in (mentor.user, leader, finance_user):
        page = seen(client, user, date(2026, 11, 5), late.get_absolute_url())
        assert f"<dt>Payment statement</dt><dd>{MOVES}</dd>" in page, user
    assert "Payment statement" not in seen(client, mentor.user, date(2026, 11, 5), early.get_absolute_url())
    page = seen(client, leader, date(2026, 11, 5), reverse("dashboard"), month="2026-10", mentor=mentor.pk)
    assert pay_cells(page)[late.reference] == "£30.00 moves to the November 2026 statement"


def test_once_the_next_statement_has_it_both_say_it_is_paid_there(october, mentor, client):
    _, _, late = october
    with on(date(2026, 11, 30), 20):
        month_end_generate(year=2026, month=11)
    line = StatementLine.objects.get(appointment=late)
    assert (line.statement.period_start, line.is_late) == (date(2026, 11, 1), True)
    assert PAID_LATER in seen(client, mentor.user, date(2026, 12, 1), late.get_absolute_url())
    page = seen(client, mentor.user, date(2026, 12, 1), reverse("dashboard"), month="2026-10")
    assert pay_cells(page)[late.reference] == "£30.00 paid on the November 2026 statement"


def test_a_later_month_is_named_when_the_next_statement_was_issued_before_it_too(mentor, mentee, client):
    arrangement = FundingArrangementFactory(mentee=mentee)
    with on(date(2026, 10, 6)):
        early, late = booked(mentor, arrangement, date(2026, 10, 6)), booked(mentor, arrangement, date(2026, 10, 20))
        november = booked(mentor, arrangement, date(2026, 11, 3))
        wrap_up(early, mentor.user, arrangement=arrangement)
    for month_end, issued in ((date(2026, 10, 31), date(2026, 11, 2)), (date(2026, 11, 30), date(2026, 12, 1))):
        with on(month_end, 20):
            if month_end.month == 11:
                wrap_up(november, mentor.user, arrangement=arrangement)
            month_end_generate(year=month_end.year, month=month_end.month)
        with on(issued):
            statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                             acting_user=None)
    with on(date(2026, 12, 2)):
        wrap_up(late, mentor.user, arrangement=arrangement)
    page = seen(client, mentor.user, date(2026, 12, 2), late.get_absolute_url())
    assert ("Moves to the December 2026 payment statement: it was wrapped up after the October 2026 statement was "
            "issued.") in page


def test_a_session_finance_does_not_pay_for_moves_nowhere(mentor, mentee, leader, client):
    arrangement = FundingArrangementFactory(mentee=mentee)
    with on(date(2026, 10, 6)):
        paid, cancelled = booked(mentor, arrangement, date(2026, 10, 6)), booked(mentor, arrangement,
                                                                                 date(2026, 10, 20))
        wrap_up(paid, mentor.user, arrangement=arrangement)
    with on(date(2026, 10, 31), 20):
        month_end_generate(year=2026, month=10)
    with on(date(2026, 11, 2)):
        statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                         acting_user=None)
    with on(date(2026, 11, 5)):
        wrap_up(cancelled, leader, outcome=Outcome.CANCELLED)
    assert "Payment statement" not in seen(client, mentor.user, date(2026, 11, 5), cancelled.get_absolute_url())


def test_the_dashboard_asks_the_same_number_of_queries_however_many_sessions_moved(october, mentor, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    arrangement, _, _ = october

    def queries() -> int:
        with on(date(2026, 11, 6)):
            client.force_login(mentor.user)
            client.get(reverse("dashboard"), {"month": "2026-10"})  # warms the session and permission caches
            with CaptureQueriesContext(connection) as captured:
                assert client.get(reverse("dashboard"), {"month": "2026-10"}).status_code == 200
        return len(captured)

    one = queries()
    for day in (21, 22, 23, 24):
        with on(date(2026, 10, day)):
            appointment = booked(mentor, arrangement, date(2026, 10, day))
        with on(date(2026, 11, 6)):
            wrap_up(appointment, mentor.user, arrangement=arrangement)
    assert queries() == one
