"""Correcting a wrap-up, and reopening a session to be wrapped up again: the one code path every caller uses (the
admin's "Correct this wrap-up" and "Reopen", Senior Leadership's "Correct outcome or notes" page).

sessions_app owns the session, so it changes it here, records the before and after in the history, and announces
`wrap_up_corrected` (or `wrap_up_reopened`) with both. The apps above act on it in the same transaction: invoicing
fixes what was billed and paid (a draft's line made again; a credit note for the one line of an issued invoice; an
adjustment on the mentor's next statement), notifications corrects what funders were told. Reopening a session that
is on an issued invoice or statement is refused by invoicing's handler, which undoes the whole reopen.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app import events
from sessions_app.services.sign_off import sign_off_request, sign_off_reset
from sessions_app.models import AppointmentEvent, FundingArrangement, ServiceAppointment, User
from sessions_app.selectors import funding_options

from .wrap_up import NOTE_MISSING, duration_problem
from .wrap_up import REASON_MISSING as CANCELLATION_REASON_MISSING

Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status

REASON_MAX = 1000
NOTES_MAX = 10000
CORRECTION_OUTCOMES = [
    (Outcome.ATTENDED, "Attended"),
    (Outcome.LATE_CANCELLATION, "Late-notice cancellation"),
    (Outcome.DID_NOT_ATTEND, "Did not attend"),
    (Outcome.CANCELLED, "Cancelled (the session did not take place)"),
]
REASON_MISSING = "Say why the wrap-up is being corrected: it is kept in the session's history."
REOPEN_REASON_MISSING = "Say why the session is being reopened: it is kept in the session's history."
NOTHING_CHANGED = "Nothing was changed: change the outcome, funding, duration or notes, or cancel."
FINANCE_ONLY = "Only Finance can change the funding or the duration; Senior Leadership can correct the outcome and notes."


BILLING_LOCK_KEY = 4_711_016


def billing_lock() -> None:
    """Wrap-up corrections and the month end take turns: wait for any in progress, and hold the others off until
    this transaction ends. Taken before the session's row, always: the month end's deferred foreign-key checks lock
    the sessions it billed only as it commits, holding this lock. On PostgreSQL a transaction-level advisory lock;
    SQLite lets one transaction write at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BILLING_LOCK_KEY])


class _Keep:
    """Leave this part of the wrap-up as it is."""

    def __repr__(self):
        return "KEEP"


KEEP = _Keep()


@dataclass(frozen=True)
class WrapUpRecord:
    """What a wrap-up says, as the apps above need it to compare before and after a correction."""

    status: str
    outcome: str
    funding_arrangement_id: int | None
    funder_id: int | None
    funding_label: str
    actual_minutes: int | None
    minutes: int  # what the session counts for: the actual duration, else the booked one
    session_notes: str
    cancellation_reason_id: int | None
    cancellation_reason_label: str = ""
    cancellation_note: str = ""

    @classmethod
    def of(cls, appointment: ServiceAppointment) -> "WrapUpRecord":
        arrangement = appointment.funding_arrangement
        return cls(
            status=appointment.status,
            outcome=appointment.outcome,
            funding_arrangement_id=appointment.funding_arrangement_id,
            funder_id=arrangement.funder_id if arrangement is not None else None,
            funding_label=arrangement.label if arrangement is not None else "",
            actual_minutes=appointment.actual_minutes,
            minutes=appointment.minutes,
            session_notes=appointment.session_notes,
            cancellation_reason_id=appointment.cancellation_reason_id,
            cancellation_reason_label=appointment.cancellation_reason.label if appointment.cancellation_reason else "",
            cancellation_note=appointment.cancellation_note,
        )

    def shown(self) -> dict[str, str]:
        """Each part as the history shows it."""
        return {
            "Outcome": dict(CORRECTION_OUTCOMES).get(self.outcome, self.outcome or "–"),
            "Funding": self.funding_label or ("not needed (cancelled)" if self.outcome == Outcome.CANCELLED else "–"),
            "Actual duration": f"{self.actual_minutes} minutes" if self.actual_minutes else "as booked",
            "Session notes": _short(self.session_notes),
            "Cancellation reason": self.cancellation_reason_label or "–",
            "Internal cancellation note": _short(self.cancellation_note),
        }


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    if not text:
        return "–"
    return f"“{text}”" if len(text) <= limit else f"“{text[:limit - 1]}…”"


def changes(before: WrapUpRecord, after: WrapUpRecord) -> str:
    """"Outcome: Attended → Did not attend; Actual duration: as booked → 45 minutes"."""
    old, new = before.shown(), after.shown()
    return "; ".join(f"{name}: {old[name]} → {new[name]}" for name in old if old[name] != new[name])


def is_finance(user: User) -> bool:
    return user.has_perm("sessions_app.use_admin")


def _lock(appointment_id: int) -> ServiceAppointment:
    return (ServiceAppointment.objects.select_for_update(of=("self",))
            .select_related("mentor__user", "mentee", "funding_arrangement__funder").get(pk=appointment_id))


@transaction.atomic
def appointment_correct(*, appointment_id: int, acting_user: User, reason: str, outcome=KEEP,
                        funding_arrangement: FundingArrangement | None | _Keep = KEEP, actual_minutes=KEEP,
                        session_notes=KEEP, cancellation_reason=KEEP, cancellation_note=KEEP,
                        now=None) -> ServiceAppointment:
    """Correct a completed session's wrap-up: Finance its outcome, funding, actual duration and notes; Senior
    Leadership its outcome and notes. A reason is required. A late-notice cancellation keeps (or is given) its
    cancellation reason (shared in the attendance email) and internal note, as every wrap-up requires. What was billed or paid is put right by invoicing (in
    this transaction), and a funder told about the session is told of the correction."""
    now = now or timezone.now()
    billing_lock()
    appointment = _lock(appointment_id)
    appointment.ensure_can("correct", by=acting_user, now=now)
    before = WrapUpRecord.of(appointment)
    finance = is_finance(acting_user)

    errors = {}
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = REASON_MISSING
    elif len(reason) > REASON_MAX:
        errors["reason"] = f"Keep the reason to {REASON_MAX} characters or fewer."
    new_outcome = appointment.outcome if outcome is KEEP else outcome
    if new_outcome not in dict(CORRECTION_OUTCOMES):
        errors["outcome"] = "Choose what happened in the session."
    wants_funding = funding_arrangement is not KEEP and (
        (funding_arrangement.pk if funding_arrangement else None) != appointment.funding_arrangement_id)
    wants_minutes = actual_minutes is not KEEP and actual_minutes != appointment.actual_minutes
    if (wants_funding or wants_minutes) and not finance:
        errors["funding_arrangement" if wants_funding else "actual_minutes"] = FINANCE_ONLY
    arrangement = appointment.funding_arrangement if funding_arrangement is KEEP else funding_arrangement
    if new_outcome == Outcome.CANCELLED:
        arrangement = None  # a session that did not take place needs no funding
    elif arrangement is None and "outcome" not in errors and not errors.get("funding_arrangement"):
        errors["funding_arrangement"] = (
            "Choose the funding arrangement that applies to this session." if finance else
            f"{appointment.reference} has no funding chosen, so only Finance can record that it took place "
            "(they choose the funding too). Log a ticket with Finance.")
    elif wants_funding and arrangement.pk not in {option.pk for option in funding_options(appointment)}:
        day = date_format(timezone.localdate(appointment.starts_at), "j F Y")
        errors["funding_arrangement"] = f"That funding arrangement does not apply to {appointment.mentee} on {day}."
    minutes = appointment.actual_minutes if actual_minutes is KEEP else actual_minutes
    problem = duration_problem(minutes) if wants_minutes else None
    if problem:
        errors["actual_minutes"] = problem
    notes = appointment.session_notes if session_notes is KEEP else (session_notes or "").strip()
    if len(notes) > NOTES_MAX:
        errors["session_notes"] = f"Keep the session notes to {NOTES_MAX} characters or fewer."
    reason_for_cancelling = (appointment.cancellation_reason if cancellation_reason is KEEP
                             else cancellation_reason)
    note = appointment.cancellation_note if cancellation_note is KEEP else (cancellation_note or "").strip()
    if new_outcome == Outcome.LATE_CANCELLATION:
        if reason_for_cancelling is None or (not reason_for_cancelling.is_active
                                             and reason_for_cancelling.pk != appointment.cancellation_reason_id):
            errors["cancellation_reason"] = CANCELLATION_REASON_MISSING
        if not note:
            errors["cancellation_note"] = NOTE_MISSING
    if errors:
        raise ValidationError(errors)

    appointment.outcome = new_outcome
    appointment.funding_arrangement = arrangement
    appointment.actual_minutes = minutes
    appointment.session_notes = notes
    if new_outcome == Outcome.LATE_CANCELLATION:
        appointment.cancellation_reason, appointment.cancellation_note = reason_for_cancelling, note
    else:  # a reason and note belong to a late-notice cancellation only
        appointment.cancellation_reason, appointment.cancellation_note, appointment.notice_hours = None, "", None
    after = WrapUpRecord.of(appointment)
    what = changes(before, after)
    if not what:
        raise ValidationError(NOTHING_CHANGED)
    appointment._history_user = acting_user
    appointment._change_reason = f"Wrap-up corrected: {reason}"[:100]
    appointment.save()
    AppointmentEvent.objects.create(
        appointment=appointment, kind=AppointmentEvent.Kind.CORRECTED, occurred_at=now, actor=acting_user,
        on_behalf_of=None, description=f"{what}. Why: {reason}",
    )
    # The mentee confirmed what happened and for how long, under which funder: a change to those is asked again.
    if (before.outcome, before.minutes, before.funder_id) != (after.outcome, after.minutes, after.funder_id):
        sign_off_reset(appointment_id=appointment.pk, acting_user=acting_user, now=now,
                       why="The wrap-up was corrected")
    sign_off_request(appointment=appointment, now=now)
    responses = events.wrap_up_corrected.send(sender=ServiceAppointment, appointment=appointment,
                                              acting_user=acting_user, before=before, after=after, reason=reason)
    appointment.correction_effects = _effects(responses)
    return appointment


@transaction.atomic
def appointment_reopen(*, appointment_id: int, acting_user: User, reason: str, now=None) -> ServiceAppointment:
    """Put a wrapped-up session back to "to wrap up" (Scheduled, started), its wrap-up cleared; the history keeps
    what it said. Finance only, and only before it is on an issued invoice or payment statement (invoicing refuses
    then, with a message saying which)."""
    now = now or timezone.now()
    billing_lock()
    appointment = _lock(appointment_id)
    appointment.ensure_can("reopen", by=acting_user, now=now)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": REOPEN_REASON_MISSING})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason to {REASON_MAX} characters or fewer."})
    before = WrapUpRecord.of(appointment)
    was = "; ".join(f"{name}: {value}" for name, value in before.shown().items())
    appointment.status = ServiceAppointment.TRANSITIONS["reopen"][1]
    appointment.outcome, appointment.funding_arrangement = "", None
    appointment.session_notes, appointment.actual_minutes, appointment.admin_details = "", None, ""
    appointment.wrapped_up_by, appointment.wrapped_up_at = None, None
    appointment.cancellation_reason, appointment.cancellation_note, appointment.notice_hours = None, "", None
    appointment._history_user = acting_user
    appointment._change_reason = f"Reopened: {reason}"[:100]
    appointment.save()
    AppointmentEvent.objects.create(
        appointment=appointment, kind=AppointmentEvent.Kind.REOPENED, occurred_at=now, actor=acting_user,
        on_behalf_of=None, description=f"The wrap-up said: {was}. Why: {reason}",
    )
    sign_off_reset(appointment_id=appointment.pk, acting_user=acting_user, now=now)
    responses = events.wrap_up_reopened.send(sender=ServiceAppointment, appointment=appointment,
                                             acting_user=acting_user, before=before, reason=reason)
    appointment.correction_effects = _effects(responses)
    return appointment


def _effects(responses) -> list[str]:
    """What the apps above did (each handler may return a list of sentences for the person who acted)."""
    return [sentence for _, answer in responses if isinstance(answer, list) for sentence in answer
            if isinstance(sentence, str)]
