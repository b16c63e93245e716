from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from sessions_app.bank import mask_account_number, mask_sort_code
from sessions_app.models import Mentor

from .documents import MONEY, PaymentStatement


class PaymentRun(models.Model):
    """One batch of payments to mentors: the statements approved for payment when Finance created it, each with the
    mentor's bank details as they were then. Its files (Bacs Standard 18, bulk-payment CSV) go to the bank; once the
    bank has paid, Finance marks the run paid, which marks its statements paid and emails each mentor a remittance
    advice."""

    class Status(models.TextChoices):
        READY = "ready", "Ready to pay"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"

    number = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    payment_date = models.DateField(help_text="The day the payments are to reach mentors' accounts.")
    total = models.DecimalField(**MONEY)
    payer_account_name = models.CharField(max_length=18)
    payer_sort_code = models.CharField(max_length=6)
    payer_account_number = models.CharField(max_length=8)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")

    history = HistoricalRecords()  # the audit trail: created, files downloaded, paid, cancelled

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(status="paid") | Q(paid_at__isnull=False), name="paid_run_has_time"),
        ]

    def __str__(self):
        return self.number


class PaymentRunItem(models.Model):
    """One payment: a statement, and where its amount goes."""

    run = models.ForeignKey(PaymentRun, on_delete=models.CASCADE, related_name="items")
    statement = models.ForeignKey(PaymentStatement, on_delete=models.PROTECT, related_name="payment_run_items")
    mentor = models.ForeignKey(Mentor, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**MONEY)
    reference = models.CharField(max_length=18)
    account_name = models.CharField(max_length=60)
    sort_code = models.CharField(max_length=6)
    account_number = models.CharField(max_length=8)
    live = models.BooleanField(default=True, help_text="False once its run is cancelled.")

    class Meta:
        ordering = ["run", "pk"]
        constraints = [
            # A statement is paid by one run: two runs created at once cannot both take it.
            models.UniqueConstraint(fields=["statement"], condition=Q(live=True), name="one_live_payment_per_statement"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self):
        return f"{self.reference}: £{self.amount}"

    @property
    def masked_sort_code(self) -> str:
        return mask_sort_code(self.sort_code)

    @property
    def masked_account_number(self) -> str:
        return mask_account_number(self.account_number)
