"""Reading the query-string parameters the pages share, with a clear message when one is wrong."""

import re

from django.contrib import messages
from django.utils import timezone

MONTH_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


def month_param(request) -> tuple[int, int]:
    """?month=YYYY-MM, defaulting to this month; a bad value falls back to this month and says so."""
    today = timezone.localdate()
    raw = request.GET.get("month")
    if not raw:
        return today.year, today.month
    match = MONTH_PATTERN.match(raw)
    if match and valid_month(int(match[1]), int(match[2])):
        return int(match[1]), int(match[2])
    messages.warning(request, f"“{raw}” is not a month (use YYYY-MM, e.g. {today:%Y-%m}). Showing this month.")
    return today.year, today.month


def mentor_param(request) -> int | None:
    """?mentor=<id> for people who see every mentor's sessions; ignored for mentors."""
    raw = request.GET.get("mentor", "")
    if not raw or not request.user.sees_all_appointments:
        return None
    # isdigit() also accepts "²" and other digits int() refuses; an id has at most 18 ASCII digits (a bigint).
    if raw.isascii() and raw.isdigit() and len(raw) <= 18:
        return int(raw)
    messages.warning(request, "That mentor could not be found. Showing every mentor.")
    return None


# The pages show the weeks around a month and link to the months before and after, which must exist too:
# /calendar/9999/12/ and ?month=9999-12 overflowed (a 500), as did /calendar/1/1/.
FIRST_MONTH, LAST_MONTH = (1900, 1), (9999, 11)


def valid_month(year: int, month: int) -> bool:
    return 1 <= month <= 12 and FIRST_MONTH <= (year, month) <= LAST_MONTH
