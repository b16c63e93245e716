import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from sessions_app.validators import validate_one_line


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


class Mentor(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mentor_profile"
    )
    hourly_pay_rate = models.DecimalField(
        "pay rate (£ per hour)", max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )
    calendar_token = models.CharField(
        max_length=64, unique=True, default=new_calendar_token, editable=False,
        help_text="Secret part of the mentor's calendar feed address.",
    )
    is_active = models.BooleanField(default=True)
    address = models.TextField(
        blank=True, help_text="The mentor's postal address, shown as the supplier's address on their payment "
                              "statements (self-billing invoices).",
    )

    class Meta:
        ordering = ["user__full_name"]
        constraints = [
            models.CheckConstraint(condition=Q(hourly_pay_rate__gte=0), name="mentor_pay_rate_not_negative"),
        ]

    def __str__(self):
        return str(self.user)

    @property
    def name(self) -> str:
        return self.user.full_name


class Mentee(models.Model):
    full_name = models.CharField(max_length=150, validators=[validate_one_line])
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True, validators=[validate_one_line])
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["full_name"]
        indexes = [models.Index(fields=["full_name"])]

    def __str__(self):
        return self.full_name


class TaxPointRule(models.TextChoices):
    """When the VAT on a session is due (its tax point, or time of supply), as HMRC sees the supply."""

    CONTINUOUS = "continuous", "Continuous supply of services: the invoice date is the tax point"
    PER_SESSION = "per_session", (
        "Single supply per session: each session's date is its tax point, or the invoice date when the invoice is "
        "issued within 14 days of the session"
    )


class Funder(models.Model):
    """Who pays for funded sessions: a student-finance body, a university, an employer..."""

    name = models.CharField(max_length=200, unique=True, validators=[validate_one_line])
    billing_contact_name = models.CharField(max_length=150, blank=True, validators=[validate_one_line])
    billing_email = models.EmailField(blank=True)
    billing_address = models.TextField(blank=True)
    sends_attendance_emails = models.BooleanField(
        default=False, help_text="Send this funder's billing contact an attendance email for every session."
    )
    single_monthly_invoice = models.BooleanField(
        default=False, help_text="One invoice a month for all this funder's sessions, instead of one per "
                                 "funding arrangement (purchase order).",
    )
    bill_only_confirmed = models.BooleanField(
        "bill only sessions the mentee confirmed", default=False,
        help_text="Invoice this funder only for sessions the mentee has confirmed (by the link in their email, or "
                  "on paper). Sessions not yet confirmed wait, and go on the invoice of the month they are confirmed.",
    )
    tax_point_rule = models.CharField(
        "tax point", max_length=20, choices=TaxPointRule.choices, default=TaxPointRule.CONTINUOUS,
        help_text="How this funder's invoices date the VAT. Continuous supply suits sessions supplied under an "
                  "arrangement that runs for months and is invoiced monthly; choose single supply when each "
                  "session is a separate sale. Applies to invoices issued from now on.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class FundingArrangementQuerySet(models.QuerySet):
    def valid_on(self, day):
        return self.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=day), valid_from__lte=day)


class FundingArrangement(models.Model):
    """How a mentee's sessions are paid for, over a date range: Funded (by a funder) or Self-funded."""

    class Kind(models.TextChoices):
        FUNDED = "funded", "Funded"
        SELF_FUNDED = "self_funded", "Self-funded"

    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="funding_arrangements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    funder = models.ForeignKey(
        Funder, on_delete=models.PROTECT, null=True, blank=True, related_name="arrangements",
        help_text="Required for Funded; leave empty for Self-funded.",
    )
    reference = models.CharField(
        "reference or purchase order", max_length=100, blank=True, validators=[validate_one_line],
        help_text="The funder's reference or purchase order number, quoted on invoices.",
    )
    hourly_rate = models.DecimalField(
        "charge rate (£ per hour)", max_digits=8, decimal_places=2, validators=[MinValueValidator(0)]
    )
    hours_allowance = models.DecimalField(
        "hours authorised", max_digits=7, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Hours the funder has authorised, if it sets a limit.",
    )
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Leave empty if open-ended.")

    objects = FundingArrangementQuerySet.as_manager()
    history = HistoricalRecords()  # the audit trail: every version, who wrote it and when

    class Meta:
        ordering = ["mentee", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="funded", funder__isnull=False) | Q(kind="self_funded", funder__isnull=True),
                name="funding_funder_iff_funded",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="funding_valid_until_not_before_valid_from",
            ),
            models.CheckConstraint(condition=Q(hourly_rate__gte=0), name="funding_rate_not_negative"),
            models.CheckConstraint(
                condition=Q(hours_allowance__isnull=True) | Q(hours_allowance__gt=0),
                name="funding_allowance_positive",
            ),
        ]
        indexes = [models.Index(fields=["mentee", "valid_from"])]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        if self.kind == self.Kind.SELF_FUNDED:
            return "Self-funded"
        parts = [f"Funded by {self.funder.name}" if self.funder_id else "Funded"]
        if self.reference:
            parts.append(f"ref. {self.reference}")
        return ", ".join(parts)

    def clean(self):
        errors = {}
        if self.kind == self.Kind.FUNDED and not self.funder_id:
            errors["funder"] = "Choose the funder for a Funded arrangement."
        if self.kind == self.Kind.SELF_FUNDED and self.funder_id:
            errors["funder"] = "A Self-funded arrangement has no funder; leave it empty."
        if self.valid_until and self.valid_from and self.valid_until < self.valid_from:
            errors["valid_until"] = "The end date cannot be before the start date."
        if errors:
            raise ValidationError(errors)

    def is_valid_on(self, day) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)
