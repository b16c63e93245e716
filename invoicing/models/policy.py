from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from sessions_app.models import Funder, Mentor, ServiceAppointment
from sessions_app.bank import validate_account_number_digits, validate_sort_code_digits
from sessions_app.validators import validate_one_line


class OutcomePolicy(models.Model):
    """Whether a session with this outcome is billed, and whether its mentor is paid.

    A row without a funder is the default; a row with a funder overrides it for that funder's sessions."""

    funder = models.ForeignKey(
        Funder, on_delete=models.CASCADE, null=True, blank=True, related_name="outcome_policies",
        help_text="Leave empty for the default that applies to every funder and to self-funded sessions.",
    )
    outcome = models.CharField(max_length=20, choices=ServiceAppointment.Outcome.choices)
    billed = models.BooleanField()
    paid = models.BooleanField("mentor paid")

    class Meta:
        ordering = ["funder__name", "outcome"]
        verbose_name = "billing and pay policy"
        verbose_name_plural = "billing and pay policies"
        constraints = [
            models.UniqueConstraint(fields=["outcome"], condition=Q(funder__isnull=True), name="one_default_policy_per_outcome"),
            models.UniqueConstraint(fields=["funder", "outcome"], condition=Q(funder__isnull=False),
                                    name="one_funder_policy_per_outcome"),
        ]

    def __str__(self):
        who = self.funder.name if self.funder_id else "Default"
        return f"{who}: {self.get_outcome_display()}"


class MentorPayRate(models.Model):
    """A mentor's pay rate from a date on. Before the first of these, the rate on the mentor applies."""

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="pay_rates")
    hourly_rate = models.DecimalField("pay rate (£ per hour)", max_digits=8, decimal_places=2,
                                      validators=[MinValueValidator(0)])
    valid_from = models.DateField("applies from")

    class Meta:
        ordering = ["mentor", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["mentor", "valid_from"], name="one_pay_rate_per_mentor_and_date"),
            models.CheckConstraint(condition=Q(hourly_rate__gte=0), name="pay_rate_not_negative"),
        ]

    def __str__(self):
        return f"£{self.hourly_rate}/h from {self.valid_from:%d/%m/%Y}"


MISSING_VAT_NUMBER = (
    "Fill in the VAT registration number, or untick “VAT-registered” if the organisation is not registered for VAT."
)


class OrganisationDetails(models.Model):
    """Who invoices are from, and how: one row, edited by Finance in the admin."""

    name = models.CharField(max_length=200, default="Mentoring Services Ltd", validators=[validate_one_line])
    address = models.TextField(default="1 High Street\nLondon\nEC1A 1AA")
    vat_registered = models.BooleanField(
        "VAT-registered", default=True,
        help_text="Untick if the organisation is not registered for VAT: its invoices then charge no VAT and show "
                  "no VAT. A VAT-registered organisation needs its VAT registration number below before any "
                  "invoice can be issued.",
    )
    vat_number = models.CharField("VAT registration number", max_length=30, blank=True, validators=[validate_one_line])
    vat_rate = models.DecimalField(
        "VAT rate (%)", max_digits=5, decimal_places=2, default=Decimal("20.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    payment_terms_days = models.PositiveSmallIntegerField("payment terms (days)", default=30)
    bank_details = models.TextField(default="Account name: Mentoring Services Ltd\nSort code: 00-00-00\nAccount: 00000000")
    email = models.EmailField("accounts email", blank=True)
    payer_account_name = models.CharField(
        "paying account: name", max_length=18, blank=True, validators=[validate_one_line],
        help_text="The name mentors see as the payer on their bank statements (at most 18 characters, the Bacs "
                  "limit). Payment runs need the three paying-account fields.",
    )
    payer_sort_code = models.CharField("paying account: sort code", max_length=6, blank=True,
                                       validators=[validate_sort_code_digits], help_text="Six digits, no dashes.")
    payer_account_number = models.CharField("paying account: account number", max_length=8, blank=True,
                                            validators=[validate_account_number_digits], help_text="Eight digits.")
    issue_automatically = models.BooleanField(
        default=False, help_text="Issue invoices and statements as soon as the month-end job creates them, "
                                 "instead of leaving drafts for Finance to review.",
    )

    class Meta:
        verbose_name = "organisation's invoice details"
        verbose_name_plural = "organisation's invoice details"
        constraints = [models.CheckConstraint(condition=Q(id=1), name="organisation_details_single_row")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.vat_registered and not self.vat_number.strip():
            raise ValidationError({"vat_number": MISSING_VAT_NUMBER})

    @classmethod
    def current(cls) -> "OrganisationDetails":
        details, _ = cls.objects.get_or_create(pk=1)
        return details

    @classmethod
    def accounts_email(cls) -> str:
        """The accounts email replies to our emails go to, "" when none is set. One query; creates nothing."""
        return cls.objects.filter(pk=1).values_list("email", flat=True).first() or ""
