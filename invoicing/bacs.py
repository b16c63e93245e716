"""Bacs Standard 18 payment records: the fixed-width file UK banks' bulk-payment software (Bacstel-IP) takes.

Each payment is one 100-character record (Bacs "Standard 18" data record, as UK banks' file specifications
give it), ASCII, the records separated by CR LF:

| positions | length | field                                   | here |
|-----------|--------|-----------------------------------------|------|
| 1–6       | 6      | destination sort code                   | the mentor's |
| 7–14      | 8      | destination account number              | the mentor's |
| 15        | 1      | destination account type                | `0` |
| 16–17     | 2      | transaction code                        | `99` (a direct credit) |
| 18–23     | 6      | originating sort code                   | the organisation's paying account |
| 24–31     | 8      | originating account number              | the organisation's paying account |
| 32–35     | 4      | free format (real-time information)     | four spaces |
| 36–46     | 11     | amount in pence, right-justified, zeros | e.g. `00000012345` for £123.45 |
| 47–64     | 18     | originator's (service user's) name      | the paying account's name |
| 65–82     | 18     | reference                               | the statement number |
| 83–100    | 18     | destination account name                | the name on the mentor's account |

The positions were checked (with the search tool) against the field table of an open-source Bacs file generator's
Standard 18 documentation (start, end and length of each field, the "DAILY" 100-character form), and the fields and
their lengths against a Bacs payment software vendor's published import format: they agree on every field above,
including the one-character destination account type at 15, without which a record would be 99 characters.

Text fields may hold only A–Z, 0–9, full stop, ampersand, slash, hyphen and space: letters are upper-cased,
accents dropped ("Zoë" → "ZOE") and anything else becomes a space; each is left-justified, space-padded and cut
at 18. The file holds the data records only: the volume and header labels (VOL1, HDR1, UHL1) and the contra
record that debits the paying account are added by the bank's Bacs software, which signs and submits the file.
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

RECORD_LENGTH = 100
CREDIT = "99"
LINE_END = "\r\n"
ALLOWED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.&/- ")
MAX_PENCE = 10**11 - 1


@dataclass(frozen=True)
class Payment:
    sort_code: str  # six digits
    account_number: str  # eight digits
    name: str
    amount: Decimal  # pounds, to the penny
    reference: str


def bacs_text(value: str, length: int = 18) -> str:
    """Upper case, accents dropped, anything outside the Bacs character set a space; cut and padded to `length`."""
    plain = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode("ascii").upper()
    return "".join(c if c in ALLOWED else " " for c in plain)[:length].ljust(length)


def _digits(value: str, length: int, what: str) -> str:
    if len(value) != length or not value.isdigit():
        raise ValueError(f"The {what} must be {length} digits, not {value!r}.")
    return value


def pence(amount: Decimal) -> str:
    value = int((amount * 100).to_integral_exact())
    if amount * 100 != value:
        raise ValueError(f"{amount} is not a whole number of pence.")
    if not 0 < value <= MAX_PENCE:
        raise ValueError(f"A Bacs amount is between £0.01 and £999,999,999.99, not £{amount}.")
    return f"{value:011d}"


def standard18_record(payment: Payment, *, payer_sort_code: str, payer_account_number: str, payer_name: str) -> str:
    record = "".join([
        _digits(payment.sort_code, 6, "sort code"),
        _digits(payment.account_number, 8, "account number"),
        "0",
        CREDIT,
        _digits(payer_sort_code, 6, "paying account's sort code"),
        _digits(payer_account_number, 8, "paying account's number"),
        " " * 4,
        pence(payment.amount),
        bacs_text(payer_name),
        bacs_text(payment.reference),
        bacs_text(payment.name),
    ])
    assert len(record) == RECORD_LENGTH, record
    return record


def standard18_file(payments: Iterable[Payment], *, payer_sort_code: str, payer_account_number: str,
                    payer_name: str) -> bytes:
    """The data records, one per payment, each ending CR LF, as ASCII bytes."""
    return "".join(
        standard18_record(payment, payer_sort_code=payer_sort_code, payer_account_number=payer_account_number,
                          payer_name=payer_name) + LINE_END
        for payment in payments
    ).encode("ascii")
