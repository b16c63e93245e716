"""How a session is shown in lists and calendars: its SA link, status badge, time, and a calendar entry. Tags built
with escape() and f-strings, not includes or date filters: a calendar or list shows hundreds of sessions."""

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


def _sa_link(appointment) -> str:
    return f'<a class="sa-link" href="{escape(appointment.get_absolute_url())}">{escape(appointment.reference)}</a>'


def _status_badge(appointment) -> str:
    return f'<span class="badge badge--{escape(appointment.status)}">{escape(appointment.get_status_display())}</span>'


@register.simple_tag
def sa_link(appointment):
    return mark_safe(_sa_link(appointment))  # noqa: S308 (escaped)


@register.simple_tag
def status_badge(appointment):
    return mark_safe(_status_badge(appointment))  # noqa: S308 (escaped)


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.simple_tag
def session_time(appointment):
    """<time> for a session's local date, start and end: "Wed 25 Nov 2026, 14:00–15:00"."""
    start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
    label = f"{WEEKDAYS[start.weekday()]} {start.day} {MONTHS[start.month - 1]} {start.year}, {start:%H:%M}–{end:%H:%M}"
    return mark_safe(f'<time datetime="{start.isoformat()}">{label}</time>')  # noqa: S308 (digits and fixed names)


@register.filter
def weekday_abbr(day) -> str:
    """Mon … Sun (as |date:"D", without building a date formatter for each of a calendar's 42 days)."""
    return WEEKDAYS[day.weekday()]


@register.filter
def month_abbr(day) -> str:
    """Jan … Dec (as |date:"M")."""
    return MONTHS[day.month - 1]


@register.simple_tag(takes_context=True)
def calendar_entry(context, entry):
    """One session in a calendar day: time, SA link, mentee (and mentor, on the organisation's calendar), status."""
    with_mentor = context.get("sees_all_appointments") and not context.get("mentor_id")
    mentee = escape(entry.mentee_name)
    who, title = mentee, mentee
    if with_mentor:
        mentor = escape(entry.mentor_name)
        who, title = f"{mentee} · {mentor}", f"{mentee} with {mentor}"
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<li class="calendar__item calendar__item--{escape(entry.status)}">'
        f'<span class="calendar__time">{escape(entry.time)}</span> {_sa_link(entry)} '
        f'<span class="calendar__who" title="{title}">{who}</span> {_status_badge(entry)}</li>'
    )
