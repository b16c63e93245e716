from django.db import models
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import ServiceAppointment


class OutboxEmail(models.Model):
    """An email to send, written in the same transaction as what caused it, sent by a worker after commit.

    `key` says what the email is about ("attendance-mentee:SA-000123", "wrap-up-reminder:7:2026-11-25"):
    the database refuses a second row with the same key, so nothing is queued, and so sent, twice.
    An email to a funder about a session names the funder in its key ("attendance-funder:SA-000123:funder-4",
    "funder-correction:SA-000123:funder-4"): a session's funding can change after a funder was told.
    """

    class Kind(models.TextChoices):
        ATTENDANCE_MENTEE = "attendance_mentee", "Attendance email to the mentee"
        ATTENDANCE_FUNDER = "attendance_funder", "Attendance email to the funder"
        FUNDER_CORRECTION = "funder_correction", "Correction to a funder: the session is not theirs"
        WRAP_UP_REMINDER = "wrap_up_reminder", "Wrap-up reminder to a mentor"
        LEADERSHIP_SUMMARY = "leadership_summary", "Month-end summary to Senior Leadership"
        WRAP_UP_REQUEST = "wrap_up_request", "A mentor's wrap-up request to Senior Leadership"
        FINANCE_ALERT = "finance_alert", "Alert to Finance"
        TICKET_REPLY = "ticket_reply", "Finance's reply to a ticket"
        INVOICE = "invoice", "Invoice to the bill-to contact"
        CREDIT_NOTE = "credit_note", "Credit note to the bill-to contact"
        PAYMENT_STATEMENT = "payment_statement", "Payment statement to a mentor"
        ATTENDANCE_CORRECTION = "attendance_correction", "Correction to an attendance email: what happened"
        STATEMENT_CORRECTION = "statement_correction", "Correction to a mentor's payment statement"
        WRAP_UP_REOPENED = "wrap_up_reopened", "A mentor's session reopened, to wrap up again"
        REMITTANCE_ADVICE = "remittance_advice", "Remittance advice to a mentor: a statement paid"
        AUTHORISED_HOURS = "authorised_hours", "Weekly to Finance: funding arrangements to renew"
        BOOKING_CONFIRMATION = "booking_confirmation", "Booking confirmation with calendar invitation"
        SESSION_MOVED = "session_moved", "Session moved, with the calendar update"
        SESSION_REMINDER = "session_reminder", "Reminder the day before a session"
        CALENDAR_CANCELLATION = "calendar_cancellation", "Calendar cancellation of a booked session"
        SIGN_OFF_REQUEST = "sign_off_request", "To the mentee: confirm or dispute the session"
        SIGN_OFF_REMINDER = "sign_off_reminder", "Reminder to the mentee: confirm or dispute the session"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (gave up)"

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    appointment = models.ForeignKey(
        ServiceAppointment, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox_emails"
    )
    to = models.JSONField(help_text="Recipient addresses.")
    subject = models.CharField(max_length=255)
    text_body = models.TextField()
    html_body = models.TextField(blank=True)
    attachments = models.JSONField(
        default=list, blank=True,
        help_text='Files attached when it is sent: [{"name", "path", "mimetype"}], path being a storage name.',
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Funder emails are one per session, funder and change of funding, corrections one per correction: their
            # keys say so.
            models.UniqueConstraint(
                fields=["appointment", "kind"],
                # Scheduling emails go to the mentee and the mentor, and a session can move many times: their keys
                # say which recipient and which version; corrections can follow one another.
                condition=Q(appointment__isnull=False) & ~Q(kind__in=[
                    "attendance_funder", "funder_correction", "attendance_correction", "statement_correction",
                    "wrap_up_reopened", "booking_confirmation", "session_moved", "session_reminder",
                    "calendar_cancellation", "sign_off_reminder"]),
                name="one_outbox_email_per_appointment_and_kind",
            ),
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="outbox_sent_has_time"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.subject}"
