"""A mentor's bank details: saved (by the mentor or Finance) and seen in full (by Finance with the permission),
each recorded in the details' history with who, when and why."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app import roles
from sessions_app.bank import normalise_account_name, normalise_account_number, normalise_sort_code
from sessions_app.models import Mentor, MentorBankDetails
from sessions_app.validators import validate_one_line


@dataclass(frozen=True)
class BankDetails:
    account_name: str
    sort_code: str  # six digits
    account_number: str  # eight digits


def bank_details_clean(*, account_name: str, sort_code: str, account_number: str) -> BankDetails:
    """The three values normalised ("12-34-56" → "123456"), or a ValidationError naming each field that is wrong."""
    errors, values = {}, {}
    for field, normalise, value in (("account_name", normalise_account_name, account_name),
                                    ("sort_code", normalise_sort_code, sort_code),
                                    ("account_number", normalise_account_number, account_number)):
        try:
            values[field] = normalise(value if isinstance(value, str) else "")
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)
    return BankDetails(**values)


def _may_change(user, mentor: Mentor) -> bool:
    return mentor.user_id == user.pk or (user.has_perm("sessions_app.change_mentorbankdetails")
                                         and user.has_perm(roles.VIEW_BANK_DETAILS))


@transaction.atomic
def bank_details_save(*, mentor: Mentor, acting_user, account_name: str, sort_code: str,
                      account_number: str) -> MentorBankDetails:
    """Set the mentor's bank details (the mentor's own, or Finance with the permission to see them in full). The
    history records who changed them and when; saving the same details again records nothing."""
    if not _may_change(acting_user, mentor):
        raise PermissionDenied("Only the mentor, or Finance allowed to see bank details, can change them.")
    clean = bank_details_clean(account_name=account_name, sort_code=sort_code, account_number=account_number)
    details = MentorBankDetails.objects.select_for_update().filter(mentor=mentor).first()
    who = "the mentor" if acting_user.pk == mentor.user_id else acting_user.full_name
    if details is None:
        details = MentorBankDetails(mentor=mentor)
        reason = f"Bank details entered by {who}"[:100]
    elif (details.account_name, details.sort_code, details.account_number) == (
            clean.account_name, clean.sort_code, clean.account_number):
        return details
    else:
        reason = f"Bank details changed by {who}"[:100]
    details.account_name, details.sort_code, details.account_number = (
        clean.account_name, clean.sort_code, clean.account_number)
    details.updated_by = acting_user
    details._history_user, details._change_reason = acting_user, reason
    details.save()
    return details


def bank_details_reveal(*, details: list[MentorBankDetails], viewer, purpose: str) -> list[MentorBankDetails]:
    """Record that `viewer` saw these details in full (a row in each one's history saying who, when and where:
    `purpose`), and return them. Refused without the permission."""
    if not viewer.has_perm(roles.VIEW_BANK_DETAILS):
        raise PermissionDenied("You are not allowed to see bank details in full.")
    validate_one_line(purpose)
    details = [row for row in details if row is not None]
    reason = f"Seen in full: {purpose}"[:100]  # the history's user says who
    for row in details:  # simple-history prefers these, left on a row by an earlier save, to the defaults below
        row._history_user, row._change_reason = viewer, reason
    if details:
        MentorBankDetails.history.bulk_history_create(details, update=True, default_user=viewer,
                                                      default_date=timezone.now(), default_change_reason=reason)
    return details


def mentor_address_save(*, mentor: Mentor, acting_user, address: str) -> Mentor:
    """The mentor's postal address (their payment statements show it as the supplier's)."""
    if mentor.user_id != acting_user.pk:
        raise PermissionDenied("Only the mentor can change their address here.")
    address = "\n".join(line.strip() for line in (address or "").strip().splitlines() if line.strip())
    if "\x00" in address:
        raise ValidationError({"address": "Null characters are not allowed."})
    if len(address) > 500:
        raise ValidationError({"address": "The address can be at most 500 characters."})
    if address != mentor.address:
        mentor.address = address
        mentor.save(update_fields=["address"])
    return mentor
