from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from simple_history.models import HistoricalRecords

from sessions_app.models import FundingArrangement, Funder, Mentee, Mentor, ServiceAppointment, TaxPointRule

MONEY = {"max_digits": 12, "decimal_places": 2}


def document_pdf_path(document, filename: str) -> str:
    """A document's PDF is filed under the year of its number (its issue date), whenever it is rendered."""
    return f"{document.PDF_FOLDER}/{document.issue_date.year}/{filename}"


class MonthEndRun(models.Model):
    """One row per month: the month-end job locks it, so two runs of the same month take turns.

    It also holds what Finance did from the admin's Month end page: the run they asked for (its state, who asked,
    the result), and the month's close, after which its invoices and statements never change (the services refuse,
    and database triggers refuse new documents, lines or amounts in a closed month: migration 0012)."""

    class State(models.TextChoices):
        NOT_REQUESTED = "", "Not run from the admin"
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Finished"
        FAILED = "failed", "Failed"

    period_start = models.DateField(unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NOT_REQUESTED, blank=True)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    result = models.TextField(blank=True, help_text="The summary of the last run asked for from the admin.")
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    close_reason = models.TextField(blank=True)

    # The audit trail: each run, each request from the admin and the close, with who and why.
    history = HistoricalRecords(no_db_index=["requested_by", "closed_by"])

    class Meta:
        ordering = ["-period_start"]
        permissions = [
            ("run_month_end", "Can run the month end from the admin"),
            ("close_month", "Can close a month"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True) | (Q(closed_by__isnull=False) & ~Q(close_reason="")),
                name="closed_month_says_who_and_why"),
        ]

    def __str__(self):
        return f"Month end {self.period_start:%B %Y}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


SIMPLIFIED_INVOICE_LIMIT = Decimal("250.00")  # HMRC: a simplified VAT invoice only up to £250 including VAT
TAX_POINT_DAYS = 14  # HMRC: an invoice issued within 14 days of a supply dates it


class Invoice(models.Model):
    """An invoice to a funder (per funding arrangement, or per funder for a single monthly invoice) or to a
    self-funded mentee, for one month. Numbered when issued; read-only from then on."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        CREDITED = "credited", "Credited"

    class Kind(models.TextChoices):
        """What was issued, decided when it is issued (blank for a draft)."""

        VAT = "vat", "VAT invoice"
        SIMPLIFIED = "simplified", "Simplified VAT invoice"
        NO_VAT = "no_vat", "Invoice without VAT (not VAT-registered)"

    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    period_start = models.DateField()
    period_end = models.DateField()
    group_key = models.CharField(max_length=60, help_text="What the invoice groups: an arrangement, a funder or a mentee.")
    funder = models.ForeignKey(Funder, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    funding_arrangement = models.ForeignKey(
        FundingArrangement, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    mentee = models.ForeignKey(Mentee, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices")
    bill_to_name = models.CharField(max_length=200)
    bill_to_email = models.EmailField(blank=True)
    bill_to_address = models.TextField(blank=True)
    customer_reference = models.CharField("reference or purchase order", max_length=100, blank=True)
    vat_rate = models.DecimalField("VAT rate (%)", max_digits=5, decimal_places=2)
    net = models.DecimalField(default=0, **MONEY)
    vat = models.DecimalField("VAT", default=0, **MONEY)
    total = models.DecimalField(default=0, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    PDF_FOLDER = "invoices"
    pdf = models.FileField(upload_to=document_pdf_path, blank=True)
    pdf_removed_at = models.DateTimeField(
        "PDF removed", null=True, blank=True,
        help_text="When its PDF was removed, past its retention period or with the person's erasure: not rendered again.")
    kind = models.CharField("issued as", max_length=12, choices=Kind.choices, blank=True)
    tax_point_rule = models.CharField("tax point", max_length=20, choices=TaxPointRule.choices, blank=True,
                                      help_text="The funder's rule when the invoice was issued.")

    # The audit trail: every version, who wrote it and when. Looked up by invoice, date and user only, so the copied
    # columns go unindexed: the month-end job writes thousands of these at once.
    history = HistoricalRecords(no_db_index=["number", "funder", "funding_arrangement", "mentee", "issued_by"])

    class Meta:
        ordering = ["-period_start", "number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["period_start", "group_key"], condition=~Q(status="credited"),
                                    name="one_live_invoice_per_group_and_month"),
            models.CheckConstraint(condition=Q(status="draft") | Q(number__isnull=False, issue_date__isnull=False),
                                   name="issued_invoice_has_number_and_date"),
            # Rounded because SQLite adds decimals as floating point.
            models.CheckConstraint(condition=Q(total=Round(F("net") + F("vat"), 2)), name="invoice_total_is_net_plus_vat"),
            models.CheckConstraint(
                condition=Q(funder__isnull=False) | Q(mentee__isnull=False), name="invoice_has_customer"
            ),
        ]
        indexes = [models.Index(fields=["status", "period_start"])]

    def __str__(self):
        return self.number or f"Draft invoice {self.pk} ({self.bill_to_name}, {self.period_start:%B %Y})"

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def charges_vat(self) -> bool:
        """An issued invoice without VAT shows none; every other (and any issued before this was recorded) does."""
        return self.kind != self.Kind.NO_VAT

    def tax_point(self, session_date: date) -> date | None:
        """A session's tax point on this issued invoice: the invoice date, except under the single-supply rule for
        a session more than 14 days before the invoice, whose own date it is. None without VAT."""
        if not self.charges_vat or self.issue_date is None:
            return None
        if (self.tax_point_rule == TaxPointRule.PER_SESSION
                and (self.issue_date - session_date).days > TAX_POINT_DAYS):
            return session_date
        return self.issue_date


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    appointment = models.ForeignKey(ServiceAppointment, on_delete=models.PROTECT, related_name="invoice_lines")
    session_date = models.DateField()
    reference = models.CharField(max_length=20)
    mentee_name = models.CharField(max_length=150)
    outcome = models.CharField(max_length=20, choices=ServiceAppointment.Outcome.choices)
    minutes = models.PositiveIntegerField()
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    net = models.DecimalField(**MONEY)
    is_late = models.BooleanField(default=False, help_text="Wrapped up after its own month's run.")
    released = models.BooleanField(default=False, help_text="Credited: the session can be invoiced again.")
    charge_rule = models.CharField(
        "rule applied", max_length=200, blank=True,
        help_text="Why the line is charged as it is: the outcome, and for a missed session the funder's rules.",
    )

    class Meta:
        ordering = ["session_date", "reference"]
        constraints = [
            models.UniqueConstraint(fields=["appointment"], condition=Q(released=False),
                                    name="one_live_invoice_line_per_session"),
        ]

    def __str__(self):
        return f"{self.reference}: £{self.net}"


class CreditNote(models.Model):
    """Cancels an issued invoice in full; its sessions can then be invoiced again."""

    number = models.CharField(max_length=20, unique=True)
    invoice = models.OneToOneField(Invoice, on_delete=models.PROTECT, related_name="credit_note")
    reason = models.TextField()
    issue_date = models.DateField()
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    net = models.DecimalField(**MONEY)
    vat = models.DecimalField("VAT", **MONEY)
    total = models.DecimalField(**MONEY)
    PDF_FOLDER = "credit-notes"
    pdf = models.FileField(upload_to=document_pdf_path, blank=True)
    pdf_removed_at = models.DateTimeField(
        "PDF removed", null=True, blank=True,
        help_text="When its PDF was removed, past its retention period or with the person's erasure: not rendered again.")

    history = HistoricalRecords()  # the audit trail: every version, who wrote it and when

    class Meta:
        ordering = ["-issued_at"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="credit_note_has_reason")]

    def __str__(self):
        return self.number


class PaymentStatement(models.Model):
    """A mentor's self-billing statement for a month: what they are paid for their wrapped-up sessions."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        APPROVED = "approved", "Approved for payment"
        PAID = "paid", "Paid"

    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    mentor = models.ForeignKey(Mentor, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateField()
    period_end = models.DateField()
    total = models.DecimalField(default=0, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    paid_at = models.DateTimeField(null=True, blank=True)
    PDF_FOLDER = "statements"
    pdf = models.FileField(upload_to=document_pdf_path, blank=True)
    pdf_removed_at = models.DateTimeField(
        "PDF removed", null=True, blank=True,
        help_text="When its PDF was removed, past its retention period or with the person's erasure: not rendered again.")
    supplier_address = models.TextField(blank=True, help_text="The mentor's address when the statement was issued.")

    # The audit trail, indexed like the invoices' (by statement, date and user).
    history = HistoricalRecords(no_db_index=["number", "mentor", "approved_by"])

    class Meta:
        ordering = ["-period_start", "number", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["mentor", "period_start"], name="one_statement_per_mentor_and_month"),
            models.CheckConstraint(condition=Q(status="draft") | Q(number__isnull=False, issue_date__isnull=False),
                                   name="issued_statement_has_number_and_date"),
        ]
        indexes = [models.Index(fields=["status", "period_start"])]

    def __str__(self):
        return self.number or f"Draft statement {self.pk} ({self.mentor}, {self.period_start:%B %Y})"


class StatementLine(models.Model):
    statement = models.ForeignKey(PaymentStatement, on_delete=models.CASCADE, related_name="lines")
    appointment = models.OneToOneField(ServiceAppointment, on_delete=models.PROTECT, related_name="statement_line")
    session_date = models.DateField()
    reference = models.CharField(max_length=20)
    mentee_name = models.CharField(max_length=150)
    outcome = models.CharField(max_length=20, choices=ServiceAppointment.Outcome.choices)
    minutes = models.PositiveIntegerField()
    hourly_rate = models.DecimalField(max_digits=8, decimal_places=2)
    amount = models.DecimalField(**MONEY)
    wrapped_up_by_name = models.CharField(max_length=150)
    on_behalf = models.BooleanField(default=False, help_text="Wrapped up by someone else on the mentor's behalf.")
    is_late = models.BooleanField(default=False)

    class Meta:
        ordering = ["session_date", "reference"]

    def __str__(self):
        return f"{self.reference}: £{self.amount}"
