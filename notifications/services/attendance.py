"""Attendance emails: to the mentee always, to a funder only about a session that is theirs.

A funder hears about a session once its funding is that funder's arrangement: at the wrap-up when the funding was
chosen, at Finance's completion for a session that went to Finance. If the funding later turns out to be someone
else's (Finance completes with another arrangement, or corrects the arrangement and credits the invoice), a funder
that was told gets a short correction.
"""

import re

from django.db import transaction

from notifications.attendance import attendance_email, funder_correction_email
from notifications.models import OutboxEmail
from sessions_app.models import Funder, FundingArrangement, ServiceAppointment, SessionSignOff
from sessions_app.selectors import funding_decision, funding_options

from .outbox import outbox_enqueue

Status, Outcome, Kind = ServiceAppointment.Status, ServiceAppointment.Outcome, OutboxEmail.Kind
FUNDER_IN_KEY = re.compile(r":funder-(\d+)(?::\d+)?$")


def session_funder(appointment: ServiceAppointment) -> Funder | None:
    """The funder whose arrangement the session is, once that is decided: none while it is with Finance or
    self-funded. A session that did not take place (cancelled in advance, or recorded as cancelled) has no funding
    chosen: it is a funder's only when that funder's arrangement is the one valid on its date."""
    if appointment.status not in (Status.COMPLETED, Status.CANCELLED):
        return None
    arrangement = appointment.funding_arrangement
    if arrangement is None and (appointment.status == Status.CANCELLED or appointment.outcome == Outcome.CANCELLED):
        arrangement = funding_decision(appointment, funding_options(appointment)).arrangement
    if arrangement is None or arrangement.kind != FundingArrangement.Kind.FUNDED:
        return None
    return arrangement.funder


def funders_told(appointment: ServiceAppointment) -> set[int]:
    """The funders an attendance email about this session went to, less those sent a correction since."""
    told: set[int] = set()
    rows = (OutboxEmail.objects.filter(appointment=appointment, kind__in=[Kind.ATTENDANCE_FUNDER, Kind.FUNDER_CORRECTION])
            .order_by("created_at", "pk").values_list("kind", "key", "to"))
    for kind, key, to in rows:
        named = FUNDER_IN_KEY.search(key)
        # Emails queued before keys named the funder went to the billing emails of the funders they were about.
        funder_ids = {int(named.group(1))} if named else set(
            Funder.objects.filter(billing_email__in=to).exclude(billing_email="").values_list("pk", flat=True))
        told = told | funder_ids if kind == Kind.ATTENDANCE_FUNDER else told - funder_ids
    return told


def _key(appointment: ServiceAppointment, prefix: str, funder: Funder, kind: str) -> str:
    """One key per session, funder and time: a funder told, corrected and told again gets a third key."""
    key = f"{prefix}:{appointment.reference}:funder-{funder.pk}"
    earlier = OutboxEmail.objects.filter(appointment=appointment, kind=kind, key__startswith=key).count()
    return f"{key}:{earlier + 1}" if earlier else key


@transaction.atomic
def funder_emails_settle(*, appointment: ServiceAppointment) -> list[OutboxEmail]:
    """Make what funders were told about this session match its funding now, in the caller's transaction: a funder
    whose session it is hears about it (if they ask for attendance emails); a funder told before whose session it
    no longer is gets a correction. Run again, it queues nothing more."""
    ServiceAppointment.objects.select_for_update().filter(pk=appointment.pk).first()  # one settling at a time
    funder = session_funder(appointment)
    told = funders_told(appointment)
    queued = []
    for wrongly_told in Funder.objects.filter(pk__in=told - {funder.pk if funder else None}).order_by("pk"):
        email = funder_correction_email(appointment, funder=wrongly_told)
        queued.append(outbox_enqueue(
            key=_key(appointment, "funder-correction", wrongly_told, Kind.FUNDER_CORRECTION),
            kind=Kind.FUNDER_CORRECTION, to=[wrongly_told.billing_email], subject=email.subject,
            text_body=email.text, html_body=email.html, appointment=appointment,
        ))
    if funder is not None and funder.sends_attendance_emails and funder.pk not in told:
        email = attendance_email(appointment, funder=funder)
        queued.append(outbox_enqueue(
            key=_key(appointment, "attendance-funder", funder, Kind.ATTENDANCE_FUNDER), kind=Kind.ATTENDANCE_FUNDER,
            to=[funder.billing_email], subject=email.subject, text_body=email.text, html_body=email.html,
            appointment=appointment,
        ))
    return [email for email in queued if email is not None]


def attendance_emails_queue(*, appointment: ServiceAppointment, hold_until=None) -> list[OutboxEmail]:
    """Queue the attendance email to the mentee, and to the session's funder if it is decided that it is theirs
    and they ask for them, in the caller's transaction. The mentee's asks them to sign the session off, by their
    personal link, when it waits for that. `hold_until`: the mentee's waits until then in case the session is
    rebooked (see notifications/services/scheduling.py)."""
    sign_off = SessionSignOff.objects.filter(appointment=appointment, state=SessionSignOff.State.PENDING).first()
    email = attendance_email(appointment, sign_off=sign_off)
    queued = [outbox_enqueue(
        key=f"attendance-mentee:{appointment.reference}", kind=Kind.ATTENDANCE_MENTEE,
        to=[appointment.mentee.email], subject=email.subject, text_body=email.text, html_body=email.html,
        appointment=appointment, hold_until=hold_until,
    )]
    return [email for email in queued if email is not None] + funder_emails_settle(appointment=appointment)
