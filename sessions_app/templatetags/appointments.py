"""How a session is shown in lists and calendars: its SA link, status badge, time, and a calendar entry. Tags built
with escape() and f-strings, not includes or date filters: a calendar or list shows hundreds of sessions."""

from html import escape as _html_escape

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from sessions_app.durations import duration_text, notice_text

register = template.Library()


@register.filter
def duration(minutes):
    """A session's length: "1 h 00 min", "0 h 55 min"."""
    return duration_text(minutes)


@register.filter
def notice(hours):
    """Notice given: "3 days, 3 hours"."""
    return notice_text(hours)


def escape(value) -> str:
    """As django.utils.html.escape (the same five characters), without its lazy-string check: these tags escape
    thousands of values a page."""
    return _html_escape(str(value))


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


def _day(moment, weekday=True) -> str:
    """A datetime's local day: "Wed 25 Nov 2026" (as |date:"D j M Y"), or "25 Nov 2026" (as |date:"j M Y")."""
    local = timezone.localtime(moment)
    day = f"{local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{WEEKDAYS[local.weekday()]} {day}" if weekday else day


def _session_time(appointment) -> str:
    start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
    return f'<time datetime="{start.isoformat()}">{_day(start)}, {start:%H:%M}–{end:%H:%M}</time>'


@register.simple_tag
def session_time(appointment):
    """<time> for a session's local date, start and end: "Wed 25 Nov 2026, 14:00–15:00"."""
    return mark_safe(_session_time(appointment))  # noqa: S308 (digits and fixed names)


@register.simple_tag
def appointment_row(appointment, show_mentor=False):
    """A session in a list (a SessionRow): SA link, mentee (and mentor, on Senior Leadership's lists), time and
    status."""
    who = escape(appointment.mentee_name)
    if show_mentor:
        who += f" · with {escape(appointment.mentor_name)}"
    return mark_safe(  # noqa: S308 (every value escaped)
        f'<li class="session">\n  <div class="session__main">\n    {_sa_link(appointment)}\n'
        f'    <span class="session__who">{who}</span>\n  </div>\n'
        f'  <div class="session__meta">\n    {_session_time(appointment)}\n    {_status_badge(appointment)}\n'
        f'  </div>\n</li>\n'
    )


def _calendar_entry(entry, with_mentor: bool) -> str:
    mentee = escape(entry.mentee_name)
    who, title = mentee, mentee
    if with_mentor:
        mentor = escape(entry.mentor_name)
        who, title = f"{mentee} · {mentor}", f"{mentee} with {mentor}"
    return (
        f'<li class="calendar__item calendar__item--{escape(entry.status)}">'
        f'<span class="calendar__time">{escape(entry.time)}</span> {_sa_link(entry)} '
        f'<span class="calendar__who" title="{title}">{who}</span> {_status_badge(entry)}</li>'
    )


@register.simple_tag(takes_context=True)
def calendar_day(context, cell):
    """A day of the calendar grid (a CalendarDay): its date, then its sessions, each with its time, SA link, mentee
    (and mentor, on the organisation's calendar) and status, and how many more it has. One call per day: a busy
    month shows hundreds of sessions."""
    with_mentor = context.get("sees_all_appointments") and not context.get("mentor_id")
    day = cell.day
    classes = "calendar__day"
    classes += "" if cell.in_month else " calendar__day--outside"
    classes += " calendar__day--today" if cell.is_today else ""
    classes += "" if cell.appointments else " calendar__day--empty"
    today = '<span class="visually-hidden">Today, </span>' if cell.is_today else ""
    entries = "".join(_calendar_entry(entry, with_mentor) for entry in cell.appointments)
    more = f'<li class="calendar__more">+{int(cell.hidden)} more</li>' if cell.hidden else ""
    book_url, today_date = context.get("book_url"), context.get("today")
    book = (f' <a class="calendar__book" href="{escape(book_url)}?date={day.isoformat()}">+<span class="visually-hidden">'
            f' Book a session on {day.day} {MONTHS[day.month - 1]}</span></a>'
            if book_url and today_date and day >= today_date else "")
    return mark_safe(  # noqa: S308 (entries escaped; the rest digits and fixed names)
        f'<div class="{classes}" role="cell">\n'
        f'      <div class="calendar__date">{today}<span class="calendar__weekday">{WEEKDAYS[day.weekday()]} </span>'
        f'{day.day}<span class="calendar__monthname"> {MONTHS[day.month - 1]}</span>{book}</div>\n'
        f'      <ul class="calendar__items">\n        {entries}\n        {more}\n      </ul>\n    </div>'
    )


@register.simple_tag
def outstanding_row(row, month_value):
    """A mentor in Senior Leadership's "still to wrap up" table, with links to wrap up for them, their month and
    their calendar."""
    pk = int(row.mentor.pk)
    asked = (f'<span class="badge badge--request">Asked on {_day(row.open_request_since, weekday=False)}</span>'
             if row.open_request_since else '<span class="muted">–</span>')
    return mark_safe(  # noqa: S308 (every value escaped or a number)
        f'<tr>\n      <td class="table__rowhead">{escape(row.mentor.user.full_name)}</td>\n'
        f'      <td data-label="To wrap up" class="num">{int(row.outstanding)}</td>\n'
        f'      <td data-label="Oldest" class="nowrap">{_day(row.oldest)}</td>\n'
        f'      <td data-label="Request">{asked}</td>\n'
        f'      <td class="table__links"><a href="{escape(reverse("mentor-wrap-up", args=[pk]))}">Wrap up for them</a>'
        f' · <a href="?mentor={pk}&amp;month={escape(month_value)}">This month</a>'
        f' · <a href="{escape(reverse("calendar"))}?mentor={pk}">Calendar</a></td>\n    </tr>'
    )
