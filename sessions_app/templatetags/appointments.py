"""How a session is shown in lists: its SA link, status badge and time. Tags, not includes: a calendar or list
shows hundreds of sessions, and these render each in microseconds."""

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def sa_link(appointment):
    return format_html('<a class="sa-link" href="{}">{}</a>', appointment.get_absolute_url(), appointment.reference)


@register.simple_tag
def status_badge(appointment):
    return format_html('<span class="badge badge--{}">{}</span>', appointment.status,
                       appointment.get_status_display())


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.simple_tag
def session_time(appointment):
    """<time> for a session's local date, start and end: "Wed 25 Nov 2026, 14:00–15:00"."""
    start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
    label = f"{WEEKDAYS[start.weekday()]} {start.day} {MONTHS[start.month - 1]} {start.year}, {start:%H:%M}–{end:%H:%M}"
    return format_html('<time datetime="{}">{}</time>', start.isoformat(), label)
