"""Bad input to the forms of paying mentors (issue 16): the mentor's My details page, the admin's bank details form,
the payment run's confirmation and its cancellation. As in tests/test_hostile_input.py: never a server error, a
message the user can act on, and nothing written when the input is refused; what is saved is always valid."""

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from invoicing.models import OrganisationDetails, PaymentRun, PaymentStatement
from invoicing.services.payment_runs import next_working_day_after, payment_run_create
from sessions_app.bank import ACCOUNT_NAME_MESSAGE, ACCOUNT_NUMBER_MESSAGE, SORT_CODE_MESSAGE
from sessions_app.forms.my_details import ALL_OR_NOTHING
from sessions_app.models import Mentor, MentorBankDetails
from sessions_app.services import bank_details_save
from sessions_app.validators import ONE_LINE_MESSAGE
from tests.strategies import examples, form_data, hostile_id, hostile_text, last, posted, short_hostile_text
from tests.test_hostile_input import no_server_error, rolled_back

BANK_MESSAGES = [SORT_CODE_MESSAGE, ACCOUNT_NUMBER_MESSAGE, ACCOUNT_NAME_MESSAGE, ONE_LINE_MESSAGE, ALL_OR_NOTHING,
                 "Enter the name on the account.", "The name on the account can be at most 60 characters.",
                 "Null characters are not allowed.", "Ensure this value has at most", "This field is required."]
sort_codes = st.one_of(short_hostile_text, st.sampled_from(["12-34-56", "12 34 56", "123456", "12-3456", "1234567"]),
                       st.from_regex(r"[0-9 -]{5,9}", fullmatch=True))
account_numbers = st.one_of(short_hostile_text, st.sampled_from(["12345678", "1234 5678", "1234567", "12345678\x00"]),
                            st.from_regex(r"[0-9 ]{7,10}", fullmatch=True))
names = st.one_of(hostile_text, st.sampled_from(["Ann Mentor", "O'Neill & Co", "=cmd", "-Ann", "Ann\nMentor"]))


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def client_for(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def bank_rows():
    return list(MentorBankDetails.objects.order_by("pk").values_list("mentor_id", "account_name", "sort_code",
                                                                     "account_number"))


def assert_valid(row):
    _, name, sort_code, account = row
    assert re.fullmatch(r"[0-9]{6}", sort_code) and re.fullmatch(r"[0-9]{8}", account)
    assert name and name == name.strip() and name.splitlines() == [name] and "\x00" not in name


@given(address=posted(hostile_text), name=posted(names), sort_code=posted(sort_codes),
       account=posted(account_numbers))
@example(address="1 Road", name="Ann", sort_code="12-34-56", account="1234 5678")
@example(address="1 Road", name=None, sort_code="12-34-56", account=None)
@examples(30)
def test_my_details_says_what_is_wrong_and_saves_only_valid_details(mentor, address, name, sort_code, account):
    client = client_for(mentor.user)
    with rolled_back():
        before = (bank_rows(), Mentor.objects.get(pk=mentor.pk).address)
        response = no_server_error(client.post(reverse("my-details"), form_data(
            {"address": address, "account_name": name, "sort_code": sort_code, "account_number": account})),
            200, 302)
        if response.status_code == 302:
            rows = bank_rows()
            for row in rows:
                assert_valid(row)
            assert "\x00" not in Mentor.objects.get(pk=mentor.pk).address
            if not any((last(v) or "").strip() for v in (name, sort_code, account)):
                assert rows == before[0]
        else:
            page = text_of(response)
            assert any(message in page for message in BANK_MESSAGES), page[-2000:]
            assert (bank_rows(), Mentor.objects.get(pk=mentor.pk).address) == before


@given(mentor_id=posted(hostile_id), name=posted(names), sort_code=posted(sort_codes),
       account=posted(account_numbers))
@example(mentor_id="own", name="Ann", sort_code="12 34 56", account="12345678")
@example(mentor_id="9" * 5000, name=None, sort_code=None, account=None)
@example(mentor_id=str(2**63), name="Ann", sort_code="123456", account="12345678")
@examples(40)
def test_the_admin_bank_details_form_says_what_is_wrong_and_saves_only_valid_details(
        mentor, finance_user, mentor_id, name, sort_code, account):
    client = client_for(finance_user)
    with rolled_back():
        data = {"mentor": str(mentor.pk) if mentor_id == "own" else mentor_id, "account_name": name,
                "sort_code": sort_code, "account_number": account, "_save": "Save"}
        response = no_server_error(client.post(reverse("admin:sessions_app_mentorbankdetails_add"), form_data(data)),
                                   200, 302)
        if response.status_code == 302:
            (row,) = bank_rows()
            assert_valid(row)
            assert row[0] == mentor.pk
        else:
            page = text_of(response)
            assert "Please correct the error" in page or "Select a valid choice" in page
            assert bank_rows() == []


@pytest.fixture
def approved(mentor, finance_user):
    OrganisationDetails.objects.filter(pk=1).update(payer_account_name="Mentoring", payer_sort_code="400102",
                                                    payer_account_number="11223344")
    bank_details_save(mentor=mentor, acting_user=mentor.user, account_name="Ann", sort_code="123456",
                      account_number="12345678")
    return PaymentStatement.objects.create(
        number="PAY-2026-000001", status=PaymentStatement.Status.APPROVED, mentor=mentor,
        period_start=date(2026, 10, 1), period_end=date(2026, 10, 31), total=Decimal("50.00"),
        issue_date=date(2026, 10, 31))


@given(day=posted(st.one_of(short_hostile_text, st.dates().map(str), st.sampled_from(["next", "31/02/2027"]))),
       ids=posted(st.one_of(hostile_id, st.sampled_from(["own", "own,own", "own,-1"]))))
@example(day="next", ids="own")
@example(day="next", ids="²")
@example(day="next", ids="own,١")
@examples(40)
def test_the_payment_run_confirmation_says_what_is_wrong_and_creates_a_run_only_when_right(
        finance_user, approved, day, ids):
    client = client_for(finance_user)
    good_day = next_working_day_after(timezone.localdate(), 3)
    day = str(good_day) if day == "next" else day
    if isinstance(ids, str):
        ids = ids.replace("own", str(approved.pk))
    with rolled_back():
        response = no_server_error(client.post(reverse("admin:invoicing_paymentrun_add"),
                                               form_data({"payment_date": day, "statements": ids})), 200, 302)
        if response.status_code == 302:
            run = PaymentRun.objects.get()
            assert run.payment_date >= timezone.localdate() and run.payment_date.weekday() < 5
            assert list(run.items.values_list("statement_id", flat=True)) == [approved.pk]
        else:
            page = text_of(response)
            assert "errornote" in response.content.decode() or "errorlist" in response.content.decode(), page[-1500:]
            assert not PaymentRun.objects.exists()


@given(reason=posted(hostile_text))
@examples(30)
def test_cancelling_a_run_needs_a_reason_and_says_what_is_wrong(finance_user, approved, reason):
    client = client_for(finance_user)
    with rolled_back():
        run = payment_run_create(statement_ids=[approved.pk], acting_user=finance_user,
                                 payment_date=next_working_day_after(timezone.localdate(), 3))
        response = no_server_error(client.post(reverse("admin:invoicing_paymentrun_cancel", args=[run.pk]),
                                               form_data({"reason": reason})), 200, 302)
        run.refresh_from_db()
        text = (last(reason) or "").strip()
        if response.status_code == 302:
            assert run.status == PaymentRun.Status.CANCELLED
            assert "\x00" not in text and 0 < len(text) <= 90
        else:
            assert run.status == PaymentRun.Status.READY
            page = text_of(response)
            assert any(message in page for message in ("Say why the payment run is being cancelled.",
                                                       "Null characters are not allowed.",
                                                       "Ensure this value has at most 90 characters")), page[-1500:]


@given(object_id=st.one_of(hostile_id, short_hostile_text), kind=st.one_of(st.sampled_from(["bacs", "csv"]),
                                                                           short_hostile_text))
@examples(30)
def test_payment_run_pages_for_made_up_ids_or_files_say_so(finance_user, object_id, kind):
    from urllib.parse import quote

    client = client_for(finance_user)
    path = f"/admin/invoicing/paymentrun/{quote(object_id, safe='')}/file/{quote(kind, safe='') or 'x'}/"
    response = no_server_error(client.get(path, follow=True), 200, 404)
    if response.status_code == 200:
        messages = [str(m) for m in get_messages(response.wsgi_request)]
        assert any("doesn’t exist" in m or "There is no such file" in m for m in messages) or \
            "doesn’t exist" in text_of(response), messages
