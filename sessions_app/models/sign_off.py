"""The mentee's sign-off of a session: funders pay only for sessions the student agrees took place. After a session
is wrapped up (attended, or missed where the funder bills it) the mentee is emailed a personal link to confirm or
dispute it; Finance can record one received on paper. Timesheets read `state`, `answered_at` and `how`."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .appointments import ServiceAppointment


def new_link_key() -> str:
    return secrets.token_urlsafe(16)


class SessionSignOff(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Waiting for the mentee"
        CONFIRMED = "confirmed", "Confirmed by the mentee"
        DISPUTED = "disputed", "Disputed by the mentee"

    class How(models.TextChoices):
        LINK = "link", "By the link in the email"
        PAPER = "paper", "On paper (recorded by Finance)"

    appointment = models.OneToOneField(ServiceAppointment, on_delete=models.CASCADE, related_name="sign_off")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    answered_at = models.DateTimeField(null=True, blank=True)
    how = models.CharField(max_length=10, choices=How.choices, blank=True)
    comment = models.TextField("the mentee's comment", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="Who recorded a sign-off received on paper; empty when the mentee answered by the link.",
    )
    reason = models.TextField(blank=True, help_text="Why Finance recorded it by hand.")
    # The link is signed (django.core.signing) with this key inside: a new key makes the links sent before useless.
    link_key = models.CharField(max_length=40, default=new_link_key)
    requested_at = models.DateTimeField(default=timezone.now)
    first_reminder_at = models.DateTimeField(null=True, blank=True)
    month_end_reminder_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "mentee's sign-off"
        verbose_name_plural = "mentees' sign-offs"
        permissions = [("record_paper_sign_off", "Can record a mentee's sign-off received on paper")]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="pending", answered_at__isnull=True, how="")
                | (~Q(state="pending") & Q(answered_at__isnull=False) & Q(how__in=["link", "paper"])),
                name="sign_off_answered_has_time_and_how",
            ),
            models.CheckConstraint(
                condition=~Q(how="paper") | (Q(recorded_by__isnull=False) & ~Q(reason="")),
                name="sign_off_on_paper_has_who_and_why",
            ),
        ]
        indexes = [models.Index(fields=["state", "requested_at"])]

    def __str__(self):
        return f"{self.appointment.reference}: {self.get_state_display()}"

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.PENDING
