"""Reading the query-string parameters the pages share, with a clear message when one is wrong."""

import re
from datetime import date

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
    if match and 1 <= int(match[2]) <= 12 and 1900 <= int(match[1]) <= 9999:
        return int(match[1]), int(match[2])
    messages.warning(request, f"“{raw}” is not a month (use YYYY-MM, e.g. {today:%Y-%m}). Showing this month.")
    return today.year, today.month


def mentor_param(request) -> int | None:
    """?mentor=<id> for people who see every mentor's sessions; ignored for mentors."""
    raw = request.GET.get("mentor", "")
    if not raw or not request.user.sees_all_appointments:
        return None
    if raw.isdigit():
        return int(raw)
    messages.warning(request, "That mentor could not be found. Showing every mentor.")
    return None


def valid_month(year: int, month: int) -> bool:
    try:
        date(year, month, 1)
    except ValueError:
        return False
    return True
