"""Wrapping up a session: the one service every path uses (wizard, Senior Leadership's list, Finance)."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app import events
from sessions_app.allowance import counting_rules, session_counted_hours, used_hours
from sessions_app.models import AppointmentEvent, CancellationReason, FundingArrangement, ServiceAppointment, User
from sessions_app.selectors import funding_options
from sessions_app.services.sign_off import sign_off_request

Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status

MIN_MINUTES = 5
MAX_MINUTES = 8 * 60


@dataclass(frozen=True)
class WrapUp:
    """The answers of a wrap-up. No funding arrangement means the funding is missing."""

    outcome: str
    funding_arrangement: FundingArrangement | None = None
    session_notes: str = ""
    actual_minutes: int | None = None
    admin_details: str = ""
    # A late-notice cancellation's reason (shared in the attendance email) and internal note (never shared).
    cancellation_reason: CancellationReason | None = None
    cancellation_note: str = ""

    @property
    def needs_funding(self) -> bool:
        return self.outcome != Outcome.CANCELLED

    @property
    def funding_missing(self) -> bool:
        return self.needs_funding and self.funding_arrangement is None


def outcomes_for(user: User, *, before_start: bool = False) -> list[tuple[str, str]]:
    """What happened? Only Senior Leadership and Finance may record a session that did not take place;
    before the start, only a late-notice cancellation can be recorded."""
    if before_start:
        return [(Outcome.LATE_CANCELLATION, "Late-notice cancellation")]
    choices = [(Outcome.ATTENDED, "Attended"), (Outcome.LATE_CANCELLATION, "Late-notice cancellation"),
               (Outcome.DID_NOT_ATTEND, "Did not attend")]
    if user.acts_for_mentors:
        choices.append((Outcome.CANCELLED, "Cancelled (the session did not take place)"))
    return choices


def duration_problem(minutes: int | None) -> str | None:
    if minutes is None:
        return None
    if minutes < MIN_MINUTES:
        return f"The actual duration must be at least {MIN_MINUTES} minutes."
    if minutes > MAX_MINUTES:
        return f"The actual duration cannot be more than {MAX_MINUTES // 60} hours ({MAX_MINUTES} minutes)."
    return None


REASON_MISSING = "Choose a cancellation reason from the list."
NOTE_MISSING = "Add an internal cancellation note (it is not shared in any attendance emails)."


def _cancellation_problems(appointment: ServiceAppointment, answers: WrapUp, now) -> dict:
    """A reason and note belong to a late-notice cancellation only. Recorded before the start (Cancel Session inside
    the late-notice window) it is a cancellation, so both are required, as `appointment_cancel` requires them."""
    reason, note = answers.cancellation_reason, answers.cancellation_note.strip()
    if answers.outcome != Outcome.LATE_CANCELLATION:
        if reason is not None or note:
            return {"cancellation_reason": "A cancellation reason and note are only recorded for a late-notice "
                                           "cancellation."}
        return {}
    errors = {}
    if reason is not None and not reason.is_active:
        errors["cancellation_reason"] = REASON_MISSING
    if reason is None:
        errors["cancellation_reason"] = REASON_MISSING
    if not note:
        errors["cancellation_note"] = NOTE_MISSING
    return errors


def _validate(appointment: ServiceAppointment, answers: WrapUp, acting_user: User, now) -> None:
    errors = {}
    if answers.outcome not in dict(outcomes_for(acting_user)):
        errors["outcome"] = (
            "Only Senior Leadership or Finance can record that a session did not take place."
            if answers.outcome == Outcome.CANCELLED else "Choose what happened in the session."
        )
    elif not appointment.has_started(now) and answers.outcome != Outcome.LATE_CANCELLATION:
        errors["outcome"] = (
            f"{appointment.reference} has not started yet: until it starts it can only be recorded "
            "as a late-notice cancellation."
        )
    errors.update(_cancellation_problems(appointment, answers, now))
    if answers.funding_arrangement is not None:
        valid_ids = {option.pk for option in funding_options(appointment)}
        if answers.funding_arrangement.pk not in valid_ids:
            day = date_format(timezone.localdate(appointment.starts_at), "j F Y")
            errors["funding_arrangement"] = (
                f"That funding arrangement does not apply to {appointment.mentee} on {day}."
            )
    if answers.funding_missing and not answers.admin_details.strip():
        errors["admin_details"] = (
            "The funding type is missing: explain in Admin Details what is missing, "
            "so Finance can add it and wrap up the session."
        )
    problem = duration_problem(answers.actual_minutes)
    if problem:
        errors["actual_minutes"] = problem
    if errors:
        raise ValidationError(errors)


def _describe(appointment: ServiceAppointment) -> str:
    parts = [appointment.get_outcome_display()]
    if appointment.cancellation_reason is not None:
        parts.append(appointment.cancellation_reason.label)
    if appointment.funding_arrangement is not None:
        parts.append(appointment.funding_arrangement.label)
    elif appointment.outcome != Outcome.CANCELLED:
        parts.append("funding missing")
    if appointment.actual_minutes:
        parts.append(f"{appointment.actual_minutes} minutes")
    return "; ".join(parts)


@transaction.atomic
def appointment_wrap_up(*, appointment_id: int, acting_user: User, answers: WrapUp, now=None) -> ServiceAppointment:
    """Record what happened. With nothing missing the session is Completed; with the funding missing it goes
    to Finance (Awaiting Finance) with a ticket carrying the Admin Details."""
    from sessions_app.services.bulk import close_request_when_settled

    now = now or timezone.now()
    appointment = ServiceAppointment.objects.select_for_update().select_related("mentor__user", "mentee").get(
        pk=appointment_id
    )
    action = "wrap_up_missing_information" if answers.funding_missing else "wrap_up"
    appointment.ensure_can(action, by=acting_user, now=now)
    _validate(appointment, answers, acting_user, now)

    _, appointment.status = ServiceAppointment.TRANSITIONS[action]
    appointment.outcome = answers.outcome
    appointment.funding_arrangement = answers.funding_arrangement if answers.needs_funding else None
    appointment.session_notes = answers.session_notes.strip()
    appointment.actual_minutes = answers.actual_minutes
    appointment.admin_details = answers.admin_details.strip()
    appointment.cancellation_reason = answers.cancellation_reason
    appointment.cancellation_note = answers.cancellation_note.strip()
    if answers.outcome == Outcome.LATE_CANCELLATION and not appointment.has_started(now):
        appointment.notice_hours = appointment.hours_until_start(now)
    appointment.wrapped_up_by = acting_user
    appointment.wrapped_up_at = now
    # Past the arrangement's authorised hours, the funder is not billed silently: Finance decides.
    over_hours = None if answers.funding_missing else over_authorised_hours(appointment)
    if over_hours is not None:
        _, appointment.status = ServiceAppointment.TRANSITIONS["wrap_up_over_authorised_hours"]
        appointment.admin_details = "\n\n".join(filter(None, [appointment.admin_details, over_hours]))
    sent_to_finance = answers.funding_missing or over_hours is not None
    appointment._history_user = acting_user  # the audit trail's "who" (tasks have no request)
    appointment.save()

    kind = AppointmentEvent.Kind.SENT_TO_FINANCE if sent_to_finance else AppointmentEvent.Kind.WRAPPED_UP
    description = _describe(appointment) + ("; over authorised hours" if over_hours else "")
    AppointmentEvent.record(appointment, kind, by=acting_user, at=now, description=description)
    close_request_when_settled(mentor_id=appointment.mentor_id, acting_user=acting_user, now=now)
    sign_off_request(appointment=appointment, now=now)  # the mentee's email with the link goes with the event
    # The attendance emails, and a Finance ticket carrying the Admin Details.
    events.appointment_wrapped_up.send(sender=ServiceAppointment, appointment=appointment, acting_user=acting_user,
                                       sent_to_finance=sent_to_finance,
                                       finance_reason=OVER_AUTHORISED_HOURS if over_hours else "")
    return appointment


OVER_AUTHORISED_HOURS = "over authorised hours"


def over_authorised_hours(appointment: ServiceAppointment) -> str | None:
    """Why the session, about to be wrapped up under its arrangement, goes to Finance: it would take the arrangement
    past its authorised hours. None when the arrangement sets no limit, or the session fits (or is not billed).

    The arrangement's row is locked until the wrap-up commits, so two wrap-ups at once on its last hour are counted
    one after the other: the second sees the first's hours, and goes to Finance."""
    arrangement = appointment.funding_arrangement
    if arrangement is None or arrangement.hours_allowance is None:
        return None
    rules = counting_rules()
    hours = session_counted_hours(appointment, arrangement, rules=rules)
    if not hours:
        return None
    FundingArrangement.objects.select_for_update().filter(pk=arrangement.pk).values_list("pk").get()
    used = used_hours(arrangement.pk, rules=rules)
    allowance = arrangement.hours_allowance
    if used + hours <= allowance:
        return None
    return (
        f"Over authorised hours: {arrangement.label} has {allowance.normalize():f} hours authorised, "
        f"{used:.2f} used. This session's {hours:.2f} would make {used + hours:.2f}. Finance decides: bill the "
        "funder anyway, bill the mentee (self-funded), or write it off."
    )


@transaction.atomic
def appointment_finance_complete(
    *, appointment_id: int, acting_user: User, funding_arrangement: FundingArrangement | None, reply: str,
    write_off: bool = False, now=None,
) -> ServiceAppointment:
    """Finance has added the missing information (or decided a session over its authorised hours): complete the
    wrap-up and answer the open tickets. Billed to the arrangement chosen (the funder's, even past its authorised
    hours, or a self-funded one), or written off: billed to nobody (no arrangement; the mentor is paid as the
    policy says)."""
    now = now or timezone.now()
    appointment = ServiceAppointment.objects.select_for_update().select_related("mentor__user", "mentee").get(
        pk=appointment_id
    )
    appointment.ensure_can("finance_complete", by=acting_user, now=now)
    errors = {}
    if write_off:
        if funding_arrangement is not None:
            errors["funding_arrangement"] = "A session written off is billed to nobody: choose no arrangement."
    elif funding_arrangement is None:
        errors["funding_arrangement"] = "Choose the funding arrangement that applies to this session."
    elif funding_arrangement.pk not in {option.pk for option in funding_options(appointment)}:
        day = date_format(timezone.localdate(appointment.starts_at), "j F Y")
        errors["funding_arrangement"] = f"That funding arrangement does not apply to {appointment.mentee} on {day}."
    if not reply.strip():
        errors["reply"] = "Write a reply for the person who wrapped up the session."
    if errors:
        raise ValidationError(errors)

    was = appointment.funding_arrangement
    _, appointment.status = ServiceAppointment.TRANSITIONS["finance_complete"]
    appointment.funding_arrangement = funding_arrangement
    appointment._history_user = acting_user
    appointment.save(update_fields=["status", "funding_arrangement", "updated_at"])
    decision = (f"Written off: billed to nobody{f' (was {was.label})' if was else ''}" if write_off
                else funding_arrangement.label)
    AppointmentEvent.objects.create(
        appointment=appointment, kind=AppointmentEvent.Kind.COMPLETED_BY_FINANCE, occurred_at=now,
        actor=acting_user, on_behalf_of=None, description=f"{decision}. {reply.strip()}",
    )
    sign_off_request(appointment=appointment, now=now)
    # The open tickets are answered with the reply, and the funder is told (or corrected); the mentee is asked to
    # sign the session off.
    events.funding_settled.send(sender=ServiceAppointment, appointment=appointment, acting_user=acting_user,
                                reply=reply)
    return appointment
