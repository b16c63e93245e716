from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .appointments import CancellationReason, ServiceAppointment
from .people import Mentor


class WrapUpRequest(models.Model):
    """A mentor who cannot wrap up tells Senior Leadership what happened in each session."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for Senior Leadership"
        DONE = "done", "Done"

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="wrap_up_requests")
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mentor"], condition=Q(status="open"), name="one_open_wrap_up_request_per_mentor"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False), name="wrap_up_request_done_has_time"
            ),
        ]

    def __str__(self):
        return f"Wrap-up request from {self.mentor} ({self.get_status_display()})"


class WrapUpRequestItem(models.Model):
    request = models.ForeignKey(WrapUpRequest, on_delete=models.CASCADE, related_name="items")
    appointment = models.ForeignKey(ServiceAppointment, on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=20, choices=ServiceAppointment.Outcome.choices)
    # A late-notice cancellation carries what the wrap-up asks for it: the reason (shared) and internal note.
    cancellation_reason = models.ForeignKey(
        CancellationReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cancellation_note = models.TextField(blank=True)

    class Meta:
        ordering = ["appointment__starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "appointment"], name="one_item_per_appointment_per_request"),
        ]
