"""Bad input to the Month end page, running and closing a month, and a draft's Issue and PDF preview pages: months
that are not months, or not yet started, hostile reasons, ids that are not numbers, submits out of order. Never a
server error, always a message Finance can act on, and nothing written when the input is wrong (as
tests/test_hostile_input.py does for the other forms)."""

import html
import re
from datetime import date, datetime
from unittest import mock
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from invoicing.admin.month_end import CLOSE_REASON_MISSING
from invoicing.models import Invoice, MonthEndRun, PaymentStatement
from invoicing.services import invoices_issue, month_end_generate, statements_issue
from tests.strategies import examples, form_data, hostile_id, hostile_text, last, posted, short_hostile_text
from tests.test_hostile_input import browser, messages_of, no_server_error, rolled_back

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 20, 12, tzinfo=LONDON))
PAGE = "/admin/invoicing/monthendrun/month-end/"
RUN = "/admin/invoicing/monthendrun/month-end/run/"
CLOSE = "/admin/invoicing/monthendrun/month-end/close/"
NOT_A_MONTH = "That is not a month: write it as YYYY-MM, for example 2026-11."
MONTHS = st.one_of(short_hostile_text, st.sampled_from([
    "2026-13", "2026-00", "2026-1", "2026-10", "2026-11", "2026-12", "2027-01", "1999-12", "0000-01", "9999-12",
    "2026/10", "10-2026", "2026-10-01", "２０２６-１０", "2026-１０", "+2026-10", "-2026-10", " 2026-10 ",
    "2026-10\x00", "99999-01", "2026-1e1"]))


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue"):
        yield


def expected_month(value) -> date | str:
    """The month the forms take from a posted value, or the message they give."""
    value = (last(value) or "").strip()
    if not value:
        return "This field is required."
    if len(value) > 7:
        return f"Ensure this value has at most 7 characters (it has {len(value)})."
    if "\x00" in value:
        return "Null characters are not allowed."
    match = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", value)
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        return NOT_A_MONTH
    month = date(int(match[1]), int(match[2]), 1)
    if month > date(2026, 11, 1):
        return f"{month:%B %Y} has not started yet: choose this month or an earlier one."
    return month


def written():
    return (list(MonthEndRun.objects.values_list("pk", "runs", "state", "closed_at")),
            list(Invoice.objects.values_list("pk", "status")),
            list(PaymentStatement.objects.values_list("pk", "status")))


@given(month=MONTHS)
@example(month="2026-12")
@example(month="\x00")
@examples(30)
def test_the_page_says_what_is_wrong_with_the_month_and_writes_nothing(db, finance_user, month):
    with rolled_back():
        before = written()
        response = no_server_error(browser(finance_user).get(PAGE, {"month": month}), 200)
        expected = expected_month(month)
        text = html.unescape(response.content.decode())
        if isinstance(expected, str):
            assert expected in text
            assert "month" not in response.context or response.context.get("month") is None
        else:
            assert response.context["month"] == expected
        assert written() == before


@given(month=posted(MONTHS))
@examples(30)
def test_running_a_bad_month_runs_nothing_and_says_why(db, finance_user, month):
    with rolled_back():
        before = written()
        response = no_server_error(browser(finance_user).post(RUN, form_data({"month": month})), 302)
        expected = expected_month(month)
        if isinstance(expected, str):
            assert messages_of(response) == [expected] and response.url == PAGE
            assert written() == before
        else:
            assert response.url == f"{PAGE}?month={expected:%Y-%m}"
            assert MonthEndRun.objects.get(period_start=expected).state == MonthEndRun.State.QUEUED


@pytest.fixture
def closable(db, mentor, mentee):
    """October 2026 run and issued, ready to close."""
    from tests.invoicing.test_month_end_admin import booked, wrap_up
    from tests.factories import FundingArrangementFactory

    wrap_up(booked(mentor, mentee, date(2026, 10, 5)), FundingArrangementFactory(mentee=mentee))
    month_end_generate(year=2026, month=10)
    invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)), acting_user=None)
    statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)), acting_user=None)


@given(month=posted(MONTHS), how=st.sampled_from(["get", "post"]))
@examples(30)
def test_closing_a_bad_month_closes_nothing_and_says_why(closable, finance_user, month, how):
    with rolled_back():
        before = written()
        client = browser(finance_user)
        if how == "get":
            response = client.get(CLOSE, {} if last(month) is None else {"month": last(month)})
        else:
            response = client.post(CLOSE, form_data({"month": month, "reason": "Filed."}))
        no_server_error(response, 200, 302)
        expected = expected_month(month)
        if isinstance(expected, str):
            assert response.status_code == 302 and response.url == PAGE
            said = messages_of(response)
            assert said == (["Choose the month to close."] if how == "get" and last(month) is None else [expected])
            assert written() == before
        elif expected != date(2026, 10, 1):
            # A real month that cannot be closed: the confirmation says why and has no button.
            assert response.status_code == 200 and 'id="close-button"' not in response.content.decode()
            assert response.context["problems"]
            assert written() == before


@given(reason=posted(hostile_text))
@examples(30)
def test_closing_needs_a_reason_of_any_length_without_nul(closable, finance_user, reason):
    with rolled_back():
        before = written()
        response = no_server_error(browser(finance_user).post(CLOSE, form_data({"month": "2026-10",
                                                                                 "reason": reason})), 200, 302)
        value = (last(reason) or "").strip()
        if not value or "\x00" in value:
            assert response.status_code == 200
            text = html.unescape(response.content.decode())
            assert ("Null characters are not allowed." if value else CLOSE_REASON_MISSING) in text
            assert written() == before
        else:
            assert response.status_code == 302
            run = MonthEndRun.objects.get(period_start=date(2026, 10, 1))
            assert run.is_closed and run.close_reason == value
            assert run.history.latest("history_date").history_change_reason == f"Month closed: {value}"[:100]


@given(object_id=st.one_of(hostile_id, short_hostile_text))
@examples(30)
def test_a_drafts_pages_for_made_up_ids_say_they_do_not_exist(db, finance_user, object_id):
    quoted = quote(object_id, safe="")
    if quoted in ("", ".", ".."):
        return
    with rolled_back():
        before = written()
        client = browser(finance_user)
        for model in ("invoice", "paymentstatement"):
            for page in ("issue/", "preview.pdf"):
                response = no_server_error(client.get(f"/admin/invoicing/{model}/{quoted}/{page}"), 302, 404)
                if response.status_code == 302:
                    assert "doesn’t exist. Perhaps it was deleted?" in " ".join(messages_of(response))
        assert written() == before


def test_a_run_or_close_by_get_does_nothing(closable, finance_user):
    client = browser(finance_user)
    before = written()
    assert no_server_error(client.get(RUN, {"month": "2026-10"}), 405).status_code == 405
    assert no_server_error(client.get(CLOSE, {"month": "2026-10", "reason": "Filed."}), 200)
    assert written() == before
