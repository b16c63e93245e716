from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import ServiceAppointment
from sessions_app.validators import validate_one_line


class FinanceTicket(models.Model):
    """A question to Finance: logged by anyone from the wrap-up, or raised by a wrap-up with Admin Details."""

    class Kind(models.TextChoices):
        QUESTION = "question", "Question"
        MISSING_INFORMATION = "missing_information", "Missing information at wrap-up"
        OVER_AUTHORISED_HOURS = "over_authorised_hours", "Over authorised hours"
        SIGN_OFF_DISPUTED = "sign_off_disputed", "Disputed by the mentee"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Answered"

    appointment = models.ForeignKey(
        ServiceAppointment, on_delete=models.PROTECT, null=True, blank=True, related_name="finance_tickets"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices, default=Kind.QUESTION)
    subject = models.CharField(max_length=200, validators=[validate_one_line])
    message = models.TextField()
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="finance_tickets")
    raised_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reply = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    replied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["raised_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(subject=""), name="ticket_has_subject"),
            models.CheckConstraint(condition=~Q(message=""), name="ticket_has_message"),
            models.CheckConstraint(
                condition=Q(status="open") | (Q(replied_at__isnull=False) & ~Q(reply="")),
                name="ticket_closed_has_reply",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "raised_at"]),
            models.Index(fields=["raised_by", "replied_at"]),
        ]

    def __str__(self):
        return f"Ticket {self.pk}: {self.subject}"
