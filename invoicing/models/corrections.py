"""What a corrected wrap-up leaves behind once its session was on an issued document: a credit note for the one
invoice line (the corrected session is invoiced again at the next month end), and an adjustment on the mentor's next
payment statement (the difference between what they were paid and what they are now owed)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from sessions_app.models import Mentor, ServiceAppointment

from .documents import MONEY, Invoice, InvoiceLine, PaymentStatement, StatementLine, document_pdf_path


class SessionCreditNote(models.Model):
    """Credits one line (one session) of an issued invoice, numbered from the same CN- sequence as the credit notes
    that cancel a whole invoice. The line is released: the session can be invoiced again."""

    number = models.CharField(max_length=20, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="session_credit_notes")
    invoice_line = models.OneToOneField(InvoiceLine, on_delete=models.PROTECT, related_name="session_credit_note")
    reason = models.TextField()
    issue_date = models.DateField()
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    net = models.DecimalField(**MONEY)
    vat = models.DecimalField("VAT", **MONEY)
    total = models.DecimalField(**MONEY)
    PDF_FOLDER = "credit-notes"
    pdf = models.FileField(upload_to=document_pdf_path, blank=True)
    pdf_removed_at = models.DateTimeField(
        "PDF removed", null=True, blank=True,
        help_text="When its PDF was removed, past its retention period or with the person's erasure: not rendered again.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = "credit note for one session"
        verbose_name_plural = "credit notes for one session"
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="session_credit_note_has_reason")]

    def __str__(self):
        return self.number


class StatementAdjustment(models.Model):
    """A corrected session that an issued payment statement paid: the difference (positive or negative) goes on the
    mentor's next payment statement, made at that month's end. Or a statement that came to less than nothing (its
    corrections were more than the month's pay), approved: nothing is paid, and what the mentor owes is carried to
    their next statement the same way (`carried_from`)."""

    mentor = models.ForeignKey(Mentor, on_delete=models.PROTECT, related_name="statement_adjustments")
    appointment = models.ForeignKey(ServiceAppointment, on_delete=models.PROTECT, related_name="statement_adjustments",
                                    null=True, blank=True)
    corrects = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="adjustments",
                                 null=True, blank=True,
                                 help_text="The line of the issued statement that paid the session.")
    carried_from = models.OneToOneField(
        PaymentStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="carried_forward",
        help_text="A statement that came to less than nothing: what the mentor owes, taken off their next one.")
    statement = models.ForeignKey(PaymentStatement, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="adjustments",
                                  help_text="The statement that carries it; empty until that month's end.")
    session_date = models.DateField()
    reference = models.CharField(max_length=20)
    mentee_name = models.CharField(max_length=150)
    description = models.TextField(help_text="What was corrected, before and after.")
    reason = models.TextField()
    was_amount = models.DecimalField("paid before", **MONEY)
    now_amount = models.DecimalField("owed now", **MONEY)
    amount = models.DecimalField("adjustment", **MONEY)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    history = HistoricalRecords()

    class Meta:
        ordering = ["session_date", "reference", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="statement_adjustment_not_zero"),
            models.CheckConstraint(condition=~Q(reason=""), name="statement_adjustment_has_reason"),
            models.CheckConstraint(
                condition=Q(carried_from__isnull=True, appointment__isnull=False, corrects__isnull=False)
                | Q(carried_from__isnull=False, appointment__isnull=True, corrects__isnull=True, amount__lt=0),
                name="statement_adjustment_corrects_a_session_or_carries_a_debt"),
        ]

    def __str__(self):
        return f"{self.reference}: £{self.amount}"
