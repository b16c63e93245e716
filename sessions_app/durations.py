"""How lengths of time are written for people: one format for session durations everywhere (pages, statements,
invoices), and notice in days and hours rather than a decimal number of hours."""

from decimal import ROUND_HALF_UP, Decimal


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


def duration_text(minutes: int) -> str:
    """A session's length, always hours and minutes so that a column of them reads alike: "1 h 00 min",
    "0 h 55 min", "12 h 35 min"."""
    hours, rest = divmod(int(minutes), 60)
    return f"{hours} h {rest:02d} min"


def notice_text(hours: Decimal) -> str:
    """Notice given before a session, as a person would say it: "3 days, 3 hours" (to the nearest hour from a day
    on), "5 hours, 30 minutes", "45 minutes"."""
    hours = Decimal(hours)
    if hours >= 24:
        days, rest = divmod(int(hours.quantize(Decimal(1), rounding=ROUND_HALF_UP)), 24)
        return ", ".join([_plural(days, "day")] + ([_plural(rest, "hour")] if rest else []))
    total_minutes = int((hours * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    whole_hours, minutes = divmod(total_minutes, 60)
    if not whole_hours:
        return _plural(minutes, "minute")
    return ", ".join([_plural(whole_hours, "hour")] + ([_plural(minutes, "minute")] if minutes else []))
