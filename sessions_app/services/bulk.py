"""Wrapping up several of a mentor's sessions at once, and the requests mentors send Senior Leadership for it.

Senior Leadership's list goes through `appointment_wrap_up`, one session at a time, each in its own transaction:
one session that cannot be wrapped up (someone else got there first) does not undo the others.
"""

from dataclasses import dataclass, field
from typing import NamedTuple

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from sessions_app import events
from sessions_app.exceptions import AppointmentActionNotAllowed
from sessions_app.models import (
    CancellationReason, Mentor, ServiceAppointment, User, WrapUpRequest, WrapUpRequestItem,
)
from sessions_app.selectors import funding_decision, funding_options

from .wrap_up import WrapUp, appointment_wrap_up

Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status

# What Senior Leadership (or the mentor, in a request) can say happened, in the order the lists offer them.
STATUS_CHOICES = [
    (Outcome.ATTENDED, "Attended"),
    (Outcome.CANCELLED, "Cancelled"),
    (Outcome.LATE_CANCELLATION, "Late-notice cancellation"),
    (Outcome.DID_NOT_ATTEND, "Did not attend"),
]
STATUS_LABELS = dict(STATUS_CHOICES)


class StatusChoice(NamedTuple):
    """What Senior Leadership (or the mentor, in a request) said about one session. A late-notice cancellation
    carries the same two things as a cancellation in advance: the reason (shared in the attendance email) and the
    internal note (never shared)."""

    appointment_id: int
    outcome: str
    notes: str = ""
    cancellation_reason: CancellationReason | None = None
    cancellation_note: str = ""


@dataclass(frozen=True)
class RowResult:
    """What happened to one session of the batch."""

    COMPLETED = "completed"
    WITH_FINANCE = "with_finance"
    NOT_CHANGED = "not_changed"

    appointment_id: int
    reference: str
    outcome: str
    result: str
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.result != self.NOT_CHANGED

    @property
    def text(self) -> str:
        """E.g. "SA-000012: Completed (Attended)"."""
        return f"{self.reference}: {self.summary}"

    @property
    def summary(self) -> str:
        if self.result == self.COMPLETED:
            return f"Completed ({STATUS_LABELS.get(self.outcome, self.outcome)})"
        if self.result == self.WITH_FINANCE:
            return f"with Finance: {self.detail}"
        return f"not changed: {self.detail}"


@dataclass
class BulkWrapUpResult:
    mentor: Mentor
    rows: list[RowResult] = field(default_factory=list)
    request_done: WrapUpRequest | None = None  # the mentor's request, when this batch finished it

    @property
    def changed(self) -> int:
        return sum(row.changed for row in self.rows)


def appointments_wrap_up_for_mentor(
    *, mentor: Mentor, acting_user: User, choices: list[StatusChoice], now=None
) -> BulkWrapUpResult:
    """Wrap up each chosen session of `mentor` on their behalf.

    Each session takes the single valid funding arrangement when there is exactly one; otherwise it goes to
    Finance (Awaiting Finance, with a ticket) with Admin Details saying why. A session someone else wrapped up or
    cancelled meanwhile is reported with the reason and left as it is. When the mentor's open request has nothing
    left to wrap up, it is marked done.
    """
    if not acting_user.acts_for_mentors:
        raise PermissionDenied("Only Senior Leadership or Finance can wrap up sessions from a mentor's list.")
    now = now or timezone.now()
    result = BulkWrapUpResult(mentor=mentor)
    open_request = WrapUpRequest.objects.filter(mentor=mentor, status=WrapUpRequest.Status.OPEN).first()
    seen = set()
    for choice in (StatusChoice(*choice) for choice in choices):
        if choice.appointment_id in seen:
            continue
        seen.add(choice.appointment_id)
        result.rows.append(_wrap_up_one(mentor=mentor, acting_user=acting_user, choice=choice, now=now))
    if open_request is not None:  # each wrap-up closes the request once none of its sessions is left
        open_request.refresh_from_db()
        if open_request.status == WrapUpRequest.Status.DONE:
            result.request_done = open_request
    return result


def _wrap_up_one(*, mentor, acting_user, choice: StatusChoice, now) -> RowResult:
    appointment_id, outcome = choice.appointment_id, choice.outcome
    reference = f"Session {appointment_id}"
    try:
        with transaction.atomic():
            appointment = (
                ServiceAppointment.objects.select_for_update().select_related("mentor__user", "mentee")
                .filter(pk=appointment_id).first()
            )
            if appointment is None or appointment.mentor_id != mentor.pk:
                return RowResult(appointment_id, reference, outcome, RowResult.NOT_CHANGED,
                                 f"this is not one of {mentor}'s sessions.")
            reference = appointment.reference
            if outcome not in STATUS_LABELS:
                return RowResult(appointment_id, reference, outcome, RowResult.NOT_CHANGED,
                                 "choose what happened in the session.")
            funding, admin_details, decision = None, "", None
            if outcome != Outcome.CANCELLED:
                decision = funding_decision(appointment, funding_options(appointment))
                funding = decision.arrangement
                if funding is None:
                    admin_details = (
                        f"Wrapped up by {acting_user} for {mentor} from Senior Leadership's list: "
                        f"the funding type could not be decided ({decision.problem})."
                    )
            appointment = appointment_wrap_up(
                appointment_id=appointment.pk,
                acting_user=acting_user,
                answers=WrapUp(outcome=outcome, funding_arrangement=funding, session_notes=choice.notes or "",
                               admin_details=admin_details, cancellation_reason=choice.cancellation_reason,
                               cancellation_note=choice.cancellation_note or ""),
                now=now,
            )
    except AppointmentActionNotAllowed as problem:
        return RowResult(appointment_id, reference, outcome, RowResult.NOT_CHANGED, str(problem))
    except ValidationError as problem:
        return RowResult(appointment_id, reference, outcome, RowResult.NOT_CHANGED, " ".join(problem.messages))
    if appointment.status == Status.AWAITING_FINANCE:
        return RowResult(appointment_id, reference, outcome, RowResult.WITH_FINANCE,
                         f"funding type could not be decided ({decision.problem})")
    return RowResult(appointment_id, reference, outcome, RowResult.COMPLETED)


def close_request_when_settled(*, mentor_id: int, acting_user: User, now=None) -> WrapUpRequest | None:
    """Called in the transaction of every wrap-up and cancellation: once none of the sessions in the mentor's
    open request is still Scheduled, however they were settled, the request is done."""
    request = WrapUpRequest.objects.select_for_update().filter(mentor_id=mentor_id, status=WrapUpRequest.Status.OPEN).first()
    if request is None:
        return None
    still_scheduled = ServiceAppointment.objects.filter(
        pk__in=request.items.values("appointment_id"), status=Status.SCHEDULED
    ).exists()
    if still_scheduled:
        return None
    request.status = WrapUpRequest.Status.DONE
    request.done_by = acting_user
    request.done_at = now or timezone.now()
    request.save(update_fields=["status", "done_by", "done_at"])
    return request


@transaction.atomic
def wrap_up_request_submit(
    *, mentor: Mentor, acting_user: User, items: list[StatusChoice], message: str, now=None
) -> WrapUpRequest:
    """A mentor who cannot wrap up tells Senior Leadership what happened in each session (appointment id, outcome,
    and for a late-notice cancellation its reason and internal note, which the wrap-up will need).

    There is one open request per mentor: sending again replaces its sessions and message.
    """
    now = now or timezone.now()
    if acting_user.pk != mentor.user_id:
        raise PermissionDenied("Only the mentor can send Senior Leadership a request about their sessions.")
    chosen: dict[int, StatusChoice] = {}
    errors: list[str] = []
    for item in (StatusChoice(*item) for item in items):
        if not item.outcome:
            continue
        if item.outcome not in STATUS_LABELS:
            _add(errors, "Choose each session's status from the list (Attended, Cancelled, and so on).")
            continue
        chosen[item.appointment_id] = item
    if not chosen and not errors:
        raise ValidationError("Choose the status of at least one session, so Senior Leadership know what happened.")

    appointments = ServiceAppointment.objects.in_bulk(list(chosen))
    for appointment_id in chosen:
        appointment = appointments.get(appointment_id)
        if appointment is None or appointment.mentor_id != mentor.pk:
            _add(errors, "One of the sessions you chose is not one of your sessions.")
        elif appointment.status != Status.SCHEDULED:
            errors.append(
                f"{appointment.reference} does not need wrapping up: it is {appointment.get_status_display()}."
            )
        elif not appointment.has_started(now):
            errors.append(
                f"{appointment.reference} has not started yet, so there is nothing to wrap up. "
                "If it will not take place, cancel it instead."
            )
        else:
            errors.extend(_late_cancellation_problems(appointment.reference, chosen[appointment_id]))
    if errors:
        raise ValidationError(errors)

    Mentor.objects.select_for_update().filter(pk=mentor.pk).first()  # one open request per mentor: serialise
    request = WrapUpRequest.objects.select_for_update().filter(mentor=mentor, status=WrapUpRequest.Status.OPEN).first()
    if request is None:
        request = WrapUpRequest.objects.create(mentor=mentor, message=message.strip(), created_at=now)
    else:
        request.message = message.strip()
        request.save(update_fields=["message"])
        request.items.all().delete()
    WrapUpRequestItem.objects.bulk_create(
        WrapUpRequestItem(
            request=request, appointment_id=item.appointment_id, outcome=item.outcome,
            cancellation_reason=item.cancellation_reason if item.outcome == Outcome.LATE_CANCELLATION else None,
            cancellation_note=(item.cancellation_note or "").strip() if item.outcome == Outcome.LATE_CANCELLATION else "",
        )
        for item in chosen.values()
    )
    events.wrap_up_request_sent.send(sender=WrapUpRequest, request=request)  # Senior Leadership are told
    return request


def _late_cancellation_problems(reference: str, item: StatusChoice) -> list[str]:
    """The wrap-up's own rule (`appointment_wrap_up` refuses a late-notice cancellation without both), asked when
    the mentor sends the request rather than discovered when Senior Leadership act on it."""
    if item.outcome != Outcome.LATE_CANCELLATION:
        return []
    problems = []
    if item.cancellation_reason is None or not item.cancellation_reason.is_active:
        problems.append(f"{reference}: choose a cancellation reason from the list.")
    if not (item.cancellation_note or "").strip():
        problems.append(f"{reference}: add an internal cancellation note (it is not shared in any attendance emails).")
    return problems


def _add(errors: list[str], message: str) -> None:
    if message not in errors:
        errors.append(message)
