"""Questions sessions_app asks of the apps above it, which it does not import.

sessions_app is the bottom app (people, funding, sessions): it knows nothing of notifications or invoicing. It
tells them what happened through domain events (sessions_app/events.py). When one of its pages needs what only an
upper app knows (Finance's replies on the homepage, a mentor's payment statements on the dashboard, the email a
cancellation will send), it asks through a Hook declared here, and the app that knows provides the answer once, in
its AppConfig.ready (`hook.provide(function)`). Events tell; hooks ask.

A hook nobody provides returns its default: nothing to show. One without a default (an action only an upper app
can carry out) says which app is missing.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_REQUIRED = object()


class Hook:
    """A function sessions_app calls and an upper app provides."""

    def __init__(self, name: str, *, provided_by: str, default: Callable[..., Any] | object = _REQUIRED):
        self.name, self.provided_by, self._default = name, provided_by, default
        self._answer: Callable[..., Any] | None = None

    def provide(self, answer: Callable[..., Any]) -> None:
        self._answer = answer

    @property
    def provided(self) -> bool:
        return self._answer is not None

    def __call__(self, *args, **kwargs):
        if self._answer is not None:
            return self._answer(*args, **kwargs)
        if self._default is _REQUIRED:
            raise ImproperlyConfigured(f"Nothing provides {self.name}: is {self.provided_by} in INSTALLED_APPS?")
        return self._default(*args, **kwargs)

    def __repr__(self):
        return f"Hook({self.name!r}, provided by {self.provided_by})"


def _nothing(*args, **kwargs) -> list:
    return []


def _every_outcome_in_full():
    from sessions_app.allowance import CountingRules  # the hook's own app; imported late, as allowance imports this

    return CountingRules()


# --- notifications ----------------------------------------------------------------------------------------------

# The Cancel Session wizard's preview of the attendance email: (appointment, with the cancellation filled in but not
# saved) -> the email as it would be sent (subject, text, html).
attendance_email_preview = Hook("attendance_email_preview", provided_by="notifications", default=lambda appointment: None)

# --- invoicing (Finance) ----------------------------------------------------------------------------------------

# A question to Finance from a session's page: (*, raised_by, appointment, subject, message) -> the ticket.
# Raises ValidationError, naming the field, for a blank subject or message.
ticket_raise = Hook("ticket_raise", provided_by="invoicing")

# The homepage's replies from Finance: (user, *, since, limit) -> tickets the user raised, or about the user's
# sessions, answered since `since`, newest first, each with appointment, raised_by and replied_by. One query.
finance_replies_for = Hook("finance_replies_for", provided_by="invoicing", default=_nothing)

# The dashboard's payment statements: (mentor, *, limit) -> the mentor's issued statements, newest first. One query.
payment_statements_of = Hook("payment_statements_of", provided_by="invoicing", default=_nothing)

# Finance's "Complete wrap-up" page in the admin: (appointment) -> the open tickets about it, oldest first, each with
# raised_by. One query.
open_tickets_about = Hook("open_tickets_about", provided_by="invoicing", default=_nothing)

# Which later payment statement pays a session its own month's statement was issued without (sessions_app.pay).
statement_moves = Hook("statement_moves", provided_by="invoicing", default=lambda mentor, appointments: {})

# Which sessions count against a funder's authorised hours (sessions_app.allowance): () -> allowance.CountingRules,
# Finance's policy (which outcomes each funder bills, and who charges a missed session's first hour only). Unprovided,
# attended and missed sessions count in full.
counting_rules = Hook("counting_rules", provided_by="invoicing", default=_every_outcome_in_full)

# Whether a session's month is closed: (day, the session's local date) -> sessions_app.closed_months.MonthLock, or
# None while the month is open.
month_lock = Hook("month_lock", provided_by="invoicing", default=lambda day: None)

# A funded arrangement's timesheet for a month, as a PDF Finance downloads (the arrangement's admin page):
# (arrangement_id, month's first day) -> its address, or None where nothing serves timesheets.
timesheet_url = Hook("timesheet_url", provided_by="invoicing", default=lambda arrangement_id, month: None)
