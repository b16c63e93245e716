"""A funder billed only for sessions the mentee confirmed: unconfirmed sessions wait (listed in the month end's
summary and preview) and go on the invoice of the month they are confirmed, on both month-end paths."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from invoicing.models import InvoiceLine
from invoicing.services import month_end_generate
from invoicing.services.month_end_admin import month_end_preview
from sessions_app.models import SessionSignOff
from sessions_app.services import sign_off_record_paper
from sessions_app.services.sign_off import sign_off_answer
from tests.factories import FunderFactory, FundingArrangementFactory
from tests.invoicing.helpers import LONDON, at, completed_session

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[False, True], ids=["python", "sql"])
def in_database(request, db):
    if request.param and connection.vendor != "postgresql":
        pytest.skip("the SQL path runs on PostgreSQL")
    return request.param


def confirm(appointment, when):
    sign_off = SessionSignOff.objects.get(appointment=appointment)
    sign_off_answer(sign_off_id=sign_off.pk, link_key=sign_off.link_key, confirmed=True, now=when)


def billed(month, in_database):
    summary = month_end_generate(year=2026, month=month, in_database=in_database)
    lines = InvoiceLine.objects.filter(invoice__period_start=date(2026, month, 1))
    return sorted(line.reference for line in lines), summary


@pytest.mark.time_machine(datetime(2026, 12, 31, 21, 0, tzinfo=LONDON))
def test_unconfirmed_sessions_wait_and_are_billed_in_the_month_they_are_confirmed(mentor, mentee, finance_user,
                                                                                  in_database):
    strict = FundingArrangementFactory(mentee=mentee, funder=FunderFactory(bill_only_confirmed=True))
    trusting = FundingArrangementFactory(mentee=mentee, funder=FunderFactory(name="Employer"),
                                         hourly_rate=Decimal("50.00"))
    confirmed_in_november = completed_session(mentor, strict, at(2026, 11, 2))
    confirmed_on_1_december = completed_session(mentor, strict, at(2026, 11, 30, 22))
    disputed = completed_session(mentor, strict, at(2026, 11, 10))
    never_answered = completed_session(mentor, strict, at(2026, 11, 12))
    not_asked = completed_session(mentor, trusting, at(2026, 11, 13))
    confirm(confirmed_in_november, at(2026, 11, 30, 23, 59))
    confirm(confirmed_on_1_december, at(2026, 12, 1, 0, 0))
    sign_off = SessionSignOff.objects.get(appointment=disputed)
    sign_off_answer(sign_off_id=sign_off.pk, link_key=sign_off.link_key, confirmed=False, comment="Not me")

    november, summary = billed(11, in_database)
    assert november == sorted([confirmed_in_november.reference, not_asked.reference])
    assert summary.awaiting_sign_off == 3
    assert "  sessions waiting for the mentee's sign-off (not included): 3" in summary.lines()

    sign_off_record_paper(appointment_id=disputed.pk, acting_user=finance_user, confirmed=True,
                          reason="Signed timesheet received", now=at(2026, 12, 5))
    december, summary = billed(12, in_database)
    # Late November sessions go on December's invoice, marked late: confirmed in December.
    assert december == sorted([confirmed_on_1_december.reference, disputed.reference])
    assert InvoiceLine.objects.get(reference=disputed.reference).is_late
    assert summary.awaiting_sign_off == 1  # never answered: still waiting


@pytest.mark.time_machine(datetime(2026, 11, 30, 21, 0, tzinfo=LONDON))
def test_the_month_end_preview_lists_the_sessions_waiting_for_sign_off(mentor, mentee, finance_client):
    strict = FundingArrangementFactory(mentee=mentee, funder=FunderFactory(name="SFE", bill_only_confirmed=True))
    waiting = completed_session(mentor, strict, at(2026, 11, 2))
    preview = month_end_preview(year=2026, month=11)
    assert [a.reference for a in preview.awaiting_sign_off] == [waiting.reference]
    page = finance_client.get("/admin/invoicing/monthendrun/month-end/?month=2026-11").content.decode()
    assert 'id="preview-awaiting-sign-off"' in page and waiting.reference in page
    assert "Waiting for the mentee" in page
