"""Funders' rules for missed sessions (late-notice cancellations and did-not-attend): the notice a funder needs,
how many missed sessions it pays for per term or per arrangement, and whether it pays the first hour or the full
booked time. The month end applies them (invoicing/services/funder_rules.py); terms are the dates Finance keeps."""

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q

from simple_history.models import HistoricalRecords

from sessions_app.models import Funder
from sessions_app.validators import validate_one_line


class Term(models.Model):
    """A term (teaching period): per-term limits on missed sessions count within one term."""

    name = models.CharField(max_length=60, unique=True, validators=[validate_one_line],
                            help_text="As invoices show it, e.g. “Autumn 2026”.")
    starts_on = models.DateField("first day")
    ends_on = models.DateField("last day")

    history = HistoricalRecords()

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="term_ends_on_or_after_start"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.starts_on and self.ends_on:
            if self.ends_on < self.starts_on:
                raise ValidationError({"ends_on": "The last day cannot be before the first day."})
            overlapping = Term.objects.filter(starts_on__lte=self.ends_on, ends_on__gte=self.starts_on).exclude(
                pk=self.pk).first()
            if overlapping is not None:
                raise ValidationError(
                    f"These dates overlap {overlapping.name} ({overlapping.starts_on:%d/%m/%Y} to "
                    f"{overlapping.ends_on:%d/%m/%Y}): a day belongs to one term at most."
                )


class MissedSessionRule(models.Model):
    """One funder's rules for missed sessions. A funder without them: the notice period is LATE_NOTICE_HOURS,
    every missed session its policy bills is billed, for its full booked time."""

    class LimitPer(models.TextChoices):
        TERM = "term", "per term"
        ARRANGEMENT = "arrangement", "per funding arrangement"

    class Charge(models.TextChoices):
        FULL = "full", "The full booked time"
        FIRST_HOUR = "first_hour", "The first hour only"

    funder = models.OneToOneField(Funder, on_delete=models.CASCADE, related_name="missed_session_rule")
    notice_hours = models.PositiveSmallIntegerField(
        "notice period (hours)", null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="A cancellation with at least this much notice is a cancellation in advance: not billed. "
                  "Leave empty for the organisation's late-notice window (LATE_NOTICE_HOURS, 24 hours unless set).",
    )
    missed_limit = models.PositiveSmallIntegerField(
        "missed sessions billed, at most", null=True, blank=True,
        help_text="Late-notice cancellations and did-not-attend sessions billed, together, per term or per "
                  "arrangement; later ones are not billed. Leave empty for no limit.",
    )
    limit_per = models.CharField("counted", max_length=20, choices=LimitPer.choices, default=LimitPer.TERM)
    charge = models.CharField("a billed missed session is charged", max_length=20, choices=Charge.choices,
                              default=Charge.FULL)

    history = HistoricalRecords()  # the audit trail: every version, who wrote it and when

    class Meta:
        ordering = ["funder__name"]
        verbose_name = "funder's missed-session rules"
        verbose_name_plural = "funders' missed-session rules"

    def __str__(self):
        return f"{self.funder.name}: missed-session rules"
