from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.urls import get_script_prefix, reverse
from django.utils.encoding import iri_to_uri
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.models import HistoricalRecords

from sessions_app.exceptions import (
    AppointmentActionNotAllowed,
    AppointmentAlreadyCancelled,
    AppointmentAlreadyWrappedUp,
    LateNoticeCancellation,
)
from sessions_app.validators import validate_one_line

from .people import FundingArrangement, Mentee, Mentor

REFERENCE_PREFIX = "SA-"
REFERENCE_DIGITS = 6


def format_reference(number: int) -> str:
    return f"{REFERENCE_PREFIX}{number:0{REFERENCE_DIGITS}d}"


class CancellationReason(models.Model):
    """The reasons offered when a session is cancelled. Shared in attendance emails."""

    class InitiatedBy(models.TextChoices):
        MENTEE = "mentee", "Mentee"
        MENTOR = "mentor", "Mentor"
        ORGANISATION = "organisation", "Organisation"

    label = models.CharField(max_length=120, unique=True, validators=[validate_one_line])
    initiated_by = models.CharField(max_length=20, choices=InitiatedBy.choices)
    is_active = models.BooleanField("active", default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "label"]

    def __str__(self):
        return self.label


class ServiceAppointmentQuerySet(models.QuerySet):
    def with_people(self):
        return self.select_related("mentor__user", "mentee")

    def to_wrap_up(self, now=None):
        """Started and still not wrapped up or cancelled."""
        return self.filter(status=ServiceAppointment.Status.SCHEDULED, starts_at__lte=now or timezone.now())

    def between(self, start, end):
        return self.filter(starts_at__gte=start, starts_at__lt=end)


@lru_cache(maxsize=8)
def _appointment_url_pattern(script_prefix: str) -> str:
    return reverse("appointment-detail", kwargs={"reference": "SA-0"})


def appointment_url(reference: str) -> str:
    """The SA page's address: `reverse` once per process, then filled in (pages list hundreds of sessions)."""
    return _appointment_url_pattern(get_script_prefix()).replace("/SA-0/", f"/{iri_to_uri(reference)}/")


class ServiceAppointment(models.Model):
    """One mentoring session between a mentor and a mentee."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        AWAITING_FINANCE = "awaiting_finance", "Awaiting Finance"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Outcome(models.TextChoices):
        ATTENDED = "attended", "Attended"
        LATE_CANCELLATION = "late_cancellation", "Late-notice cancellation"
        DID_NOT_ATTEND = "did_not_attend", "Did not attend"
        CANCELLED = "cancelled", "Cancelled (did not take place)"

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        ONLINE = "online", "Online"
        PHONE = "phone", "Phone"

    # The only moves a Service Appointment can make: action -> (from statuses, to status).
    TRANSITIONS = {
        "wrap_up": ({Status.SCHEDULED}, Status.COMPLETED),
        "wrap_up_missing_information": ({Status.SCHEDULED}, Status.AWAITING_FINANCE),
        "wrap_up_over_authorised_hours": ({Status.SCHEDULED}, Status.AWAITING_FINANCE),
        "finance_complete": ({Status.AWAITING_FINANCE}, Status.COMPLETED),
        "cancel": ({Status.SCHEDULED}, Status.CANCELLED),
        # A completed wrap-up corrected (Finance; Senior Leadership for the outcome and notes only).
        "correct": ({Status.COMPLETED}, Status.COMPLETED),
        # Back to "to wrap up", before invoicing (Finance; invoicing refuses once it is on an issued document).
        "reopen": ({Status.COMPLETED, Status.AWAITING_FINANCE}, Status.SCHEDULED),
    }

    reference = models.CharField(max_length=20, unique=True, editable=False)
    mentor = models.ForeignKey(Mentor, on_delete=models.PROTECT, related_name="appointments")
    mentee = models.ForeignKey(Mentee, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField("starts")
    ends_at = models.DateTimeField("ends")
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IN_PERSON)
    location = models.CharField(
        "location or meeting link", max_length=255, blank=True, validators=[validate_one_line],
        help_text="Address or room for in-person sessions; meeting link for online ones.",
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)

    # Scheduling (issue 17): the repeat it belongs to, the iCalendar SEQUENCE (one more at each move, so calendar
    # apps update the event they have), and why Senior Leadership booked it over a clash.
    series = models.ForeignKey(
        "sessions_app.AppointmentSeries", on_delete=models.SET_NULL, null=True, blank=True, related_name="appointments",
    )
    calendar_sequence = models.PositiveIntegerField(
        default=0, editable=False, help_text="Goes up each time the session is moved (the calendar event's SEQUENCE).",
    )
    clash_override_reason = models.TextField(
        "why it was booked over a clash", blank=True,
        help_text="Senior Leadership's reason for booking it although the mentor or mentee had another session then.",
    )

    # Filled in by the wrap-up.
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    funding_arrangement = models.ForeignKey(
        FundingArrangement, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    session_notes = models.TextField(blank=True)
    actual_minutes = models.PositiveIntegerField("actual duration (minutes)", null=True, blank=True)
    admin_details = models.TextField(
        blank=True, help_text="What the mentor said was missing when wrapping up. Read by Finance."
    )
    wrapped_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    wrapped_up_at = models.DateTimeField(null=True, blank=True)

    # Filled in by a cancellation.
    cancellation_reason = models.ForeignKey(
        CancellationReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancellation_note = models.TextField(
        "internal cancellation note", blank=True, help_text="Never shared in attendance emails."
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    notice_hours = models.DecimalField(
        "notice given (hours)", max_digits=8, decimal_places=1, null=True, blank=True
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceAppointmentQuerySet.as_manager()
    # The audit trail: every version of the row, who wrote it and when (`updated_at` would only repeat the when).
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["starts_at"]
        permissions = [
            ("view_all_appointments", "Can see every mentor's Service Appointments"),
            ("act_for_mentors", "Can wrap up or cancel sessions on a mentor's behalf"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="sa_ends_after_start"),
            models.CheckConstraint(condition=Q(reference__startswith=REFERENCE_PREFIX), name="sa_reference_format"),
            models.CheckConstraint(
                condition=Q(status__in=["scheduled", "awaiting_finance", "completed", "cancelled"]),
                name="sa_status_known",
            ),
            models.CheckConstraint(
                condition=~Q(status="scheduled") | (Q(outcome="") & Q(wrapped_up_at__isnull=True)),
                name="sa_scheduled_not_wrapped_up",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["completed", "awaiting_finance"])
                | (~Q(outcome="") & Q(wrapped_up_at__isnull=False)),
                name="sa_wrapped_up_has_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(status="awaiting_finance") | ~Q(admin_details=""),
                name="sa_awaiting_finance_has_admin_details",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False, cancellation_reason__isnull=False),
                name="sa_cancelled_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(actual_minutes__isnull=True) | Q(actual_minutes__gt=0),
                name="sa_actual_minutes_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["mentor", "starts_at"]),
            # A mentor's sessions to wrap up (their homepage's list and count, on every visit): a range of the index,
            # where (mentor, starts_at) would read every session of the mentor's years to find the Scheduled ones.
            models.Index(fields=["mentor", "status", "starts_at"], name="sa_mentor_status_starts"),
            models.Index(fields=["mentee", "starts_at"], name="sa_mentee_starts"),  # the mentee's clashes
            # Covering (PostgreSQL): Senior Leadership's mentors waiting longest, and the month's sessions by day and
            # by status (the dashboard's tiles tell cancelled from the outcome), are read from the index alone.
            models.Index(fields=["status", "starts_at"], include=["mentor"], name="sa_status_starts_mentor"),
            models.Index(fields=["starts_at"], include=["status", "outcome"], name="sa_starts_status_outcome"),
        ]

    def __str__(self):
        return self.reference

    def get_absolute_url(self):
        return appointment_url(self.reference)

    def clean(self):
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "The session must end after it starts."})

    # ---- time ----
    @property
    def booked_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def minutes(self) -> int:
        """What the session counts for: the actual duration once recorded, the booked one until then."""
        return self.actual_minutes or self.booked_minutes

    def has_started(self, now=None) -> bool:
        return self.starts_at <= (now or timezone.now())

    def hours_until_start(self, now=None) -> Decimal:
        """Real hours from `now` to the start (a clock change makes a day 23 or 25 of them)."""
        seconds = _real_interval(now or timezone.now(), self.starts_at).total_seconds()
        return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.1"), rounding=ROUND_DOWN)

    def is_late_notice(self, now=None) -> bool:
        """Not started, but closer to the start than the late-notice window."""
        now = now or timezone.now()
        return not self.has_started(now) and _real_interval(now, self.starts_at) < timedelta(
            hours=settings.LATE_NOTICE_HOURS
        )

    # ---- state ----
    @property
    def is_wrapped_up(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.AWAITING_FINANCE)

    @property
    def wrapped_up_on_behalf(self) -> bool:
        return self.wrapped_up_by_id is not None and self.wrapped_up_by_id != self.mentor.user_id

    def blocker(self, action: str, *, by, now=None) -> AppointmentActionNotAllowed | None:
        """Why `by` may not take `action` now, as an exception to raise or show; None when allowed."""
        now = now or timezone.now()
        allowed_from, _ = self.TRANSITIONS[action]
        if action == "finance_complete":
            if not by.has_perm("sessions_app.use_admin"):
                return AppointmentActionNotAllowed("Only Finance can complete a wrap-up that is awaiting Finance.")
        elif action == "correct":
            if not (by.has_perm("sessions_app.use_admin") or by.acts_for_mentors):
                return AppointmentActionNotAllowed(
                    "Only Finance or Senior Leadership can correct a wrap-up. Log a ticket with Finance to ask.")
        elif action == "reopen":
            if not by.has_perm("sessions_app.use_admin"):
                return AppointmentActionNotAllowed("Only Finance can reopen a session to be wrapped up again.")
        elif by.pk != self.mentor.user_id and not by.acts_for_mentors:
            return AppointmentActionNotAllowed(f"{self.reference} is not one of your sessions.")
        if self.status not in allowed_from:
            if action in ("correct", "reopen"):
                return self._correction_blocker(action)
            return self._state_blocker()
        if action.startswith("wrap_up") and not self.has_started(now) and not self.is_late_notice(now):
            local = timezone.localtime(self.starts_at)
            return AppointmentActionNotAllowed(
                f"{self.reference} has not started yet. You can wrap it up from "
                f"{date_format(local, 'l j F Y')} at {local:%H:%M}."
            )
        if action == "cancel" and self.has_started(now):
            return AppointmentActionNotAllowed(
                f"{self.reference} has already started, so it cannot be cancelled in advance. "
                "Wrap it up instead and choose what happened."
            )
        if action == "cancel" and self.is_late_notice(now):
            return LateNoticeCancellation(
                f"{self.reference} starts in less than {settings.LATE_NOTICE_HOURS} hours, so this is a "
                "late-notice cancellation: it may be billed and paid. Record it here, with "
                "“Late-notice cancellation” chosen."
            )
        return None

    def can(self, action: str, *, by, now=None) -> bool:
        return self.blocker(action, by=by, now=now) is None

    def ensure_can(self, action: str, *, by, now=None) -> None:
        problem = self.blocker(action, by=by, now=now)
        if problem is not None:
            raise problem

    def _correction_blocker(self, action: str) -> AppointmentActionNotAllowed:
        if action == "correct" and self.status == self.Status.AWAITING_FINANCE:
            return AppointmentActionNotAllowed(
                f"{self.reference} is awaiting Finance: complete its wrap-up first, then correct it if need be.")
        if self.status == self.Status.CANCELLED:
            return AppointmentActionNotAllowed(
                f"{self.reference} was cancelled in advance, so it has no wrap-up to "
                f"{'correct' if action == 'correct' else 'reopen'}.")
        return AppointmentActionNotAllowed(
            f"{self.reference} is not wrapped up yet, so there is nothing to "
            f"{'correct' if action == 'correct' else 'reopen'}: use Wrap Up Session.")

    def _state_blocker(self) -> AppointmentActionNotAllowed:
        if self.status == self.Status.CANCELLED:
            who = self.cancelled_by or "someone"
            return AppointmentAlreadyCancelled(
                f"{self.reference} was already cancelled by {who} on {_when(self.cancelled_at)}."
            )
        if self.is_wrapped_up:
            who = self.wrapped_up_by or "someone"
            return AppointmentAlreadyWrappedUp(
                f"{self.reference} was already wrapped up by {who} on {_when(self.wrapped_up_at)}."
            )
        return AppointmentActionNotAllowed(f"{self.reference} is {self.get_status_display()}.")


def _real_interval(earlier: datetime, later: datetime) -> timedelta:
    """Elapsed time between two aware datetimes. Python ignores the offsets of two datetimes that share a
    tzinfo (so 10:00 to 10:00 across a clock change would be 24 hours); UTC never changes."""
    return later.astimezone(dt_timezone.utc) - earlier.astimezone(dt_timezone.utc)


def _when(moment) -> str:
    if moment is None:
        return "an unknown date"
    local = timezone.localtime(moment)
    return f"{date_format(local, 'j F Y')} at {local:%H:%M}"


class AppointmentEvent(models.Model):
    """The history of a Service Appointment: what happened, when, who did it, on whose behalf."""

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Changed"
        MOVED = "moved", "Moved"
        WRAPPED_UP = "wrapped_up", "Wrapped up"
        SENT_TO_FINANCE = "sent_to_finance", "Sent to Finance"
        COMPLETED_BY_FINANCE = "completed_by_finance", "Completed by Finance"
        CANCELLED = "cancelled", "Cancelled"
        CORRECTED = "corrected", "Wrap-up corrected"
        REOPENED = "reopened", "Reopened to wrap up again"
        SIGNED_OFF = "signed_off", "Confirmed by the mentee"
        SIGN_OFF_DISPUTED = "sign_off_disputed", "Disputed by the mentee"

    appointment = models.ForeignKey(ServiceAppointment, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Who did it; empty when the system did.",
    )
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The mentor, when someone else acted for them.",
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "pk"]
        indexes = [models.Index(fields=["appointment", "occurred_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} {timezone.localtime(self.occurred_at):%d/%m/%Y %H:%M}"

    @classmethod
    def record(cls, appointment, kind, *, by, description="", at=None):
        mentor_user_id = appointment.mentor.user_id
        return cls.objects.create(
            appointment=appointment,
            kind=kind,
            occurred_at=at or timezone.now(),
            actor=by,
            on_behalf_of_id=mentor_user_id if by is not None and by.pk != mentor_user_id else None,
            description=description,
        )
