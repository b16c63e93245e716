"""UK bank details: what a sort code, account number and account name may be, and how they are shown masked.

Shared by the model (database constraints and field validators), the mentor's "My details" form, the admin and the
payment run's files, so every path accepts and shows the same thing.

No modulus check (Pay.UK's "valacdos" weight table, which says whether an account number can exist at a sort code)
is made: the Python packages on PyPI that implement it (`ukmodulus`, last released 2017; `uk-modulus-check`, a
single release) carry a copy of a table that Pay.UK revises several times a year, and none is kept up to date. The
bank's own upload software checks every payment in a Bacs file when Finance submits it.
"""

import re

from django.core.exceptions import ValidationError

from sessions_app.validators import validate_one_line

SORT_CODE_MESSAGE = "Enter the sort code as six digits, for example 12-34-56."
ACCOUNT_NUMBER_MESSAGE = "Enter the account number as eight digits, for example 12345678."
ACCOUNT_NAME_MESSAGE = ("Enter the name on the account as the bank shows it: letters and digits, with spaces and "
                        ". & / - ' between them.")
ACCOUNT_NAME_MAX = 60

_SORT_CODE = re.compile(r"[0-9]{2}([- ]?)[0-9]{2}\1[0-9]{2}")
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .&/'-]*")


def normalise_sort_code(value: str) -> str:
    """ "12-34-56", "12 34 56" or "123456" (spaces around it allowed) as "123456"; anything else is refused."""
    text = (value or "").strip()
    if not _SORT_CODE.fullmatch(text):
        raise ValidationError(SORT_CODE_MESSAGE, code="sort_code")
    return re.sub(r"[- ]", "", text)


def normalise_account_number(value: str) -> str:
    """Eight digits (spaces around or between groups allowed: "1234 5678"), stored as the digits."""
    text = (value or "").strip()
    digits = re.sub(r" ", "", text)
    if not re.fullmatch(r"[0-9]{8}", digits) or not re.fullmatch(r"[0-9]{4} ?[0-9]{4}|[0-9]{8}", text):
        raise ValidationError(ACCOUNT_NUMBER_MESSAGE, code="account_number")
    return digits


def normalise_account_name(value: str) -> str:
    """The name on the account, on one line, in the characters a bank payment file can carry."""
    validate_one_line(value)
    text = " ".join((value or "").split())
    if not text:
        raise ValidationError("Enter the name on the account.", code="required")
    if len(text) > ACCOUNT_NAME_MAX:
        raise ValidationError(f"The name on the account can be at most {ACCOUNT_NAME_MAX} characters.",
                              code="max_length")
    if not _ACCOUNT_NAME.fullmatch(text):
        raise ValidationError(ACCOUNT_NAME_MESSAGE, code="account_name")
    return text


def validate_sort_code_digits(value: str) -> None:
    if not re.fullmatch(r"[0-9]{6}", value or ""):
        raise ValidationError(SORT_CODE_MESSAGE, code="sort_code")


def validate_account_number_digits(value: str) -> None:
    if not re.fullmatch(r"[0-9]{8}", value or ""):
        raise ValidationError(ACCOUNT_NUMBER_MESSAGE, code="account_number")


def mask_sort_code(sort_code: str) -> str:
    """ "123456" as "**-**-56"."""
    return f"**-**-{sort_code[-2:]}" if sort_code else "-"


def mask_account_number(account_number: str) -> str:
    """ "12345678" as "****5678"."""
    return f"****{account_number[-4:]}" if account_number else "-"


def show_sort_code(sort_code: str) -> str:
    """ "123456" as "12-34-56", as banks print it."""
    return f"{sort_code[0:2]}-{sort_code[2:4]}-{sort_code[4:6]}" if sort_code else "-"
