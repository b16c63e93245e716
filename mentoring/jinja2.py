"""The Jinja2 environment for the project's own templates (jinja2/: browser pages, emails, PDFs); the admin keeps
Django templates (templates/admin/). README, Architecture, "Templates" says why.

What a template has besides its context (Django's backend adds `request`, `csrf_input` and `csrf_token`, and the
context processors in settings.TEMPLATES add `user`, `perms` and the roles):

- url(name, *args, **kwargs): reverse(); static(path): the static file's address.
- get_messages(request): the messages to show once (django.contrib.messages).
- Filters that format as Django's template filters do, with Django's localisation (the en_GB formats in
  mentoring/formats): |date("j M Y") and |time("H:i") (aware datetimes shown in local time, as Django's filters do),
  |localtime, |pluralize / |pluralize("y,ies"), |linebreaksbr, |truncatechars(120), and the product's
  |duration ("1 h 05 min") and |notice ("3 days, 3 hours").

Autoescaping is on for .html and .xml templates and off for the emails' .txt bodies. Templates keep their trailing
newline, as Django's do. A missing variable renders as "" with DEBUG on or off (Django's backend would print it as
{{ name }} with DEBUG on), so the demo shows what production shows.
"""

from datetime import datetime

from django.contrib.messages import get_messages
from django.template import defaultfilters
from django.templatetags.static import static
from django.urls import reverse
from django.utils import formats, timezone
from jinja2 import Environment, Undefined, select_autoescape

from sessions_app.durations import duration_text, notice_text


def url(name, *args, **kwargs) -> str:
    """{{ url('calendar-month', 2026, 11) }}, {{ url('document-pdf', kind='invoice', pk=3) }}."""
    return reverse(name, args=args or None, kwargs=kwargs or None)


def _local(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


def date(value, format=None) -> str:
    """As Django's |date: the date (local, if an aware datetime) in a Django format, "" for no value."""
    if value in (None, ""):
        return ""
    return formats.date_format(_local(value), format)


def time(value, format=None) -> str:
    """As Django's |time: "14:00"."""
    if value in (None, ""):
        return ""
    return formats.time_format(_local(value), format)


def environment(**options) -> Environment:
    options["autoescape"] = select_autoescape(enabled_extensions=("html", "xml"), default_for_string=True)
    options["undefined"] = Undefined
    options.setdefault("keep_trailing_newline", True)
    env = Environment(**options)
    env.globals.update(url=url, static=static, get_messages=get_messages)
    env.filters.update(
        date=date,
        time=time,
        localtime=_local,
        pluralize=defaultfilters.pluralize,
        linebreaksbr=defaultfilters.linebreaksbr,
        truncatechars=defaultfilters.truncatechars,
        duration=duration_text,
        notice=notice_text,
    )
    return env
