"""Mentors' bank details: what is accepted, how they are shown (masked, except to Finance with the permission), and
the history that records every change and every view in full."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from sessions_app import roles
from sessions_app.bank import ACCOUNT_NAME_MESSAGE, ACCOUNT_NUMBER_MESSAGE, SORT_CODE_MESSAGE
from sessions_app.models import MentorBankDetails
from sessions_app.services import bank_details_clean, bank_details_reveal, bank_details_save
from tests.factories import UserFactory

MASKED_SORT, MASKED_ACCOUNT = "**-**-56", "****5678"


def save(mentor, by, name="Ann Mentor", sort_code="12-34-56", account="12345678"):
    return bank_details_save(mentor=mentor, acting_user=by, account_name=name, sort_code=sort_code,
                             account_number=account)


@pytest.fixture
def details(mentor):
    return save(mentor, mentor.user)


@pytest.fixture
def finance_without_bank_details(db):
    """A Finance clerk whose role does not include seeing bank details in full (taken from the group, in this test)."""
    user = UserFactory(full_name="Fred Finance", email="fred@example.com", roles=[roles.FINANCE])
    user.groups.get().permissions.remove(Permission.objects.get(codename="view_bank_details"))
    return user


# --------------------------------------------------------------------------- what is accepted


@pytest.mark.parametrize("typed", ["12-34-56", "12 34 56", "123456", " 123456 ", "12-34-56\t", "123456\r\n"])
def test_a_sort_code_typed_with_dashes_or_spaces_is_stored_as_six_digits(typed):
    assert bank_details_clean(account_name="A", sort_code=typed, account_number="12345678").sort_code == "123456"


@pytest.mark.parametrize("typed", ["12345", "1234567", "12-3456", "12-34 56", "ab-cd-ef", "12–34–56", "１２３４５６",
                                   "", "12_34_56", "12-34-56-", "\x0012345", "123\n456"])
def test_a_sort_code_that_is_not_six_digits_is_refused_with_an_example(typed):
    with pytest.raises(ValidationError) as error:
        bank_details_clean(account_name="A", sort_code=typed, account_number="12345678")
    assert error.value.message_dict == {"sort_code": [SORT_CODE_MESSAGE]}


@pytest.mark.parametrize("typed", ["1234567", "123456789", "1234-5678", "abcdefgh", "", "12 34 56 78", "٠١٢٣٤٥٦٧"])
def test_an_account_number_that_is_not_eight_digits_is_refused(typed):
    with pytest.raises(ValidationError) as error:
        bank_details_clean(account_name="A", sort_code="123456", account_number=typed)
    assert error.value.message_dict == {"account_number": [ACCOUNT_NUMBER_MESSAGE]}


def test_an_account_number_in_two_groups_of_four_is_stored_as_eight_digits():
    assert bank_details_clean(account_name="A", sort_code="123456", account_number="1234 5678").account_number == \
        "12345678"


@pytest.mark.parametrize("name, message", [
    ("Ann\nMentor", "This must be on one line: remove the line break."),
    ("Ann\u2028Mentor", "This must be on one line: remove the line break."),
    ("=HYPERLINK(\"x\")", ACCOUNT_NAME_MESSAGE),
    ("-Ann", ACCOUNT_NAME_MESSAGE),
    ("Ann <script>", ACCOUNT_NAME_MESSAGE),
    ("   ", "Enter the name on the account."),
    ("A" * 61, "The name on the account can be at most 60 characters."),
])
def test_an_account_name_must_be_one_line_of_what_a_bank_file_carries(name, message):
    with pytest.raises(ValidationError) as error:
        bank_details_clean(account_name=name, sort_code="123456", account_number="12345678")
    assert error.value.message_dict == {"account_name": [message]}


def test_every_wrong_field_is_named_at_once():
    with pytest.raises(ValidationError) as error:
        bank_details_clean(account_name="", sort_code="1", account_number="2")
    assert set(error.value.message_dict) == {"account_name", "sort_code", "account_number"}


def test_the_database_refuses_details_that_are_not_digits(mentor):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        MentorBankDetails.objects.create(mentor=mentor, account_name="A", sort_code="12-34-", account_number="1",
                                         updated_by=mentor.user)


# --------------------------------------------------------------------------- who may change them; the history


def test_the_mentor_saves_their_own_details_and_the_history_says_who(mentor, details):
    assert (details.sort_code, details.account_number) == ("123456", "12345678")
    (record,) = details.history.all()
    assert record.history_user == mentor.user
    assert record.history_change_reason == "Bank details entered by the mentor"


def test_finance_with_the_permission_changes_them_and_the_history_shows_before_and_after(mentor, details,
                                                                                         finance_user):
    save(mentor, finance_user, sort_code="65-43-21", account="87654321")
    latest, first = details.history.all()[:2]
    assert latest.history_user == finance_user
    assert latest.history_change_reason == "Bank details changed by Fay Finance"
    changes = {change.field: (change.old, change.new) for change in latest.diff_against(first).changes}
    assert changes == {"sort_code": ("123456", "654321"), "account_number": ("12345678", "87654321"),
                       "updated_by": (mentor.user.pk, finance_user.pk)}


def test_saving_the_same_details_again_records_nothing(mentor, details):
    save(mentor, mentor.user)
    assert details.history.count() == 1


def test_another_mentor_or_senior_leadership_cannot_change_them(mentor, details, other_mentor, leader):
    for who in (other_mentor.user, leader):
        with pytest.raises(PermissionDenied):
            save(mentor, who, account="99999999")
    details.refresh_from_db()
    assert details.account_number == "12345678"


def test_seeing_them_in_full_needs_the_permission_and_is_recorded(details, finance_user, leader):
    with pytest.raises(PermissionDenied):
        bank_details_reveal(details=[details], viewer=leader, purpose="curiosity")
    bank_details_reveal(details=[details], viewer=finance_user, purpose="the admin page")
    latest = details.history.first()
    assert (latest.history_user, latest.history_change_reason) == (finance_user, "Seen in full: the admin page")


# --------------------------------------------------------------------------- masked, except to Finance with the permission


def test_the_admin_shows_finance_the_details_in_full_and_records_that_it_did(client, details, finance_user):
    client.force_login(finance_user)
    page = client.get(reverse("admin:sessions_app_mentorbankdetails_change", args=[details.pk])).content.decode()
    assert 'value="12-34-56"' in page and 'value="12345678"' in page
    assert details.history.first().history_change_reason == "Seen in full: the admin page"
    listing = client.get(reverse("admin:sessions_app_mentorbankdetails_changelist")).content.decode()
    assert MASKED_SORT in listing and MASKED_ACCOUNT in listing and "12345678" not in listing


def test_finance_without_the_permission_sees_them_masked_and_nothing_is_recorded(client, details,
                                                                                 finance_without_bank_details):
    client.force_login(finance_without_bank_details)
    response = client.get(reverse("admin:sessions_app_mentorbankdetails_change", args=[details.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert MASKED_SORT in page and MASKED_ACCOUNT in page
    assert "12345678" not in page and "123456" not in page
    assert details.history.count() == 1
    response = client.post(reverse("admin:sessions_app_mentorbankdetails_change", args=[details.pk]),
                           {"account_name": "Thief", "sort_code": "000000", "account_number": "00000000"})
    details.refresh_from_db()
    assert details.account_number == "12345678"


def test_the_history_page_shows_who_saw_and_changed_them_with_numbers_masked(client, mentor, details, finance_user):
    save(mentor, finance_user, sort_code="65-43-21", account="87654321")
    client.force_login(finance_user)
    page = client.get(reverse("admin:sessions_app_mentorbankdetails_history", args=[details.pk])).content.decode()
    assert "Bank details changed by Fay Finance" in page and "Bank details entered by the mentor" in page
    assert "****4321" in page and "**-**-21" in page and MASKED_ACCOUNT in page
    assert "87654321" not in page and "12345678" not in page
    version = details.history.first().history_id
    response = client.get(reverse("admin:sessions_app_mentorbankdetails_simple_history",
                                  args=[details.pk, version]))
    assert response.status_code == 403


def test_finance_enters_a_mentors_details_in_the_admin(client, mentor, finance_user):
    client.force_login(finance_user)
    response = client.post(reverse("admin:sessions_app_mentorbankdetails_add"),
                           {"mentor": mentor.pk, "account_name": "Ann Mentor", "sort_code": "12 34 56",
                            "account_number": "1234 5678", "_save": "Save"})
    assert response.status_code == 302
    details = MentorBankDetails.objects.get(mentor=mentor)
    assert (details.sort_code, details.account_number, details.updated_by) == ("123456", "12345678", finance_user)
    assert details.history.first().history_change_reason == "Bank details entered by Fay Finance"


def test_the_admin_form_says_what_is_wrong(client, mentor, finance_user):
    client.force_login(finance_user)
    response = client.post(reverse("admin:sessions_app_mentorbankdetails_add"),
                           {"mentor": mentor.pk, "account_name": "Ann\r\nMentor", "sort_code": "12-34",
                            "account_number": "1234", "_save": "Save"})
    page = response.content.decode()
    assert response.status_code == 200
    for message in ("This must be on one line: remove the line break.", SORT_CODE_MESSAGE, ACCOUNT_NUMBER_MESSAGE):
        assert message in page
    assert not MentorBankDetails.objects.exists()


# --------------------------------------------------------------------------- the mentor's "My details" page


def test_a_mentor_enters_their_address_and_bank_details_and_then_sees_them_masked(mentor_client, mentor):
    response = mentor_client.post(reverse("my-details"), {
        "address": "  2 Low Road\r\n\r\nLeeds LS1 1AA ", "account_name": "Ann Mentor", "sort_code": "12-34-56",
        "account_number": "12345678"})
    assert response.status_code == 302
    mentor.refresh_from_db()
    assert mentor.address == "2 Low Road\nLeeds LS1 1AA"
    page = mentor_client.get(reverse("my-details")).content.decode()
    assert "Your details are saved." in page
    assert MASKED_SORT in page and MASKED_ACCOUNT in page and "12345678" not in page


def test_leaving_the_bank_fields_empty_keeps_the_details(mentor_client, mentor, details):
    mentor_client.post(reverse("my-details"), {"address": "3 New Road", "account_name": "", "sort_code": "",
                                               "account_number": ""})
    details.refresh_from_db()
    assert details.account_number == "12345678"
    assert details.history.count() == 1


def test_filling_in_only_some_bank_fields_saves_nothing_and_says_to_fill_in_all_three(mentor_client, mentor):
    response = mentor_client.post(reverse("my-details"), {"address": "3 New Road", "sort_code": "12-34-56"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "To change your bank details, fill in all three" in page
    assert "Enter the name on the account." in page and ACCOUNT_NUMBER_MESSAGE in page
    mentor.refresh_from_db()
    assert mentor.address == "" and not MentorBankDetails.objects.exists()


@pytest.mark.parametrize("who", ["leader", "finance_user"])
def test_my_details_is_a_mentors_page_only(client, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("my-details")).status_code == 404


def test_the_mentors_admin_page_shows_their_bank_details_masked_with_a_link(client, mentor, details, finance_user):
    client.force_login(finance_user)
    page = client.get(reverse("admin:sessions_app_mentor_change", args=[mentor.pk])).content.decode()
    assert f"Ann Mentor, sort code {MASKED_SORT}, account {MASKED_ACCOUNT}" in page
    assert reverse("admin:sessions_app_mentorbankdetails_change", args=[details.pk]) in page
    assert "12345678" not in page
    assert details.history.count() == 1  # masked: nothing to record


def test_the_demo_mentor_has_bank_details_and_the_other_has_none(db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=__import__("io").StringIO())
    call_command("seed_demo", stdout=__import__("io").StringIO())  # safe to run again
    (details,) = MentorBankDetails.objects.all()
    assert (details.mentor.user.email, details.masked_account_number) == ("mentor@example.com", MASKED_ACCOUNT)
