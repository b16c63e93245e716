"""Who mentors whom, and weekly series of sessions (issue 17, scheduling)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from sessions_app.validators import validate_one_line

from .people import Mentee, Mentor


class MentorAssignment(models.Model):
    """A mentee assigned to a mentor: the mentees a mentor may book sessions with. Finance and Senior Leadership
    assign them in the admin."""

    mentor = models.ForeignKey(Mentor, on_delete=models.CASCADE, related_name="assignments")
    mentee = models.ForeignKey(Mentee, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField(auto_now_add=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False,
    )

    class Meta:
        ordering = ["mentor", "mentee"]
        verbose_name = "mentee assigned to a mentor"
        verbose_name_plural = "mentees assigned to mentors"
        constraints = [
            models.UniqueConstraint(fields=["mentor", "mentee"], name="one_assignment_per_mentor_and_mentee"),
        ]

    def __str__(self):
        return f"{self.mentee} with {self.mentor}"


class AppointmentSeries(models.Model):
    """Sessions booked together as a repeat: every N weeks, at the same Europe/London time, until a date or for a
    number of sessions. Each occurrence is its own Service Appointment pointing here."""

    mentor = models.ForeignKey(Mentor, on_delete=models.PROTECT, related_name="series")
    mentee = models.ForeignKey(Mentee, on_delete=models.PROTECT, related_name="series")
    interval_weeks = models.PositiveSmallIntegerField(
        "every (weeks)", validators=[MinValueValidator(1), MaxValueValidator(52)],
    )
    first_date = models.DateField()
    until = models.DateField(null=True, blank=True)
    count = models.PositiveSmallIntegerField("number of sessions", null=True, blank=True)
    start_time = models.TimeField("starts (Europe/London)")
    booked_minutes = models.PositiveIntegerField()
    mode = models.CharField(max_length=20)
    location = models.CharField(max_length=255, blank=True, validators=[validate_one_line])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "appointment series"
        permissions = [
            ("book_for_any_mentor", "Can book, repeat and move sessions for any mentor and mentee"),
            ("book_over_clash", "Can book a session over a clash, giving a reason"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(until__isnull=False, count__isnull=True) | Q(until__isnull=True, count__isnull=False),
                name="series_until_or_count",
            ),
            models.CheckConstraint(condition=Q(interval_weeks__gte=1), name="series_interval_positive"),
            models.CheckConstraint(condition=Q(booked_minutes__gt=0), name="series_minutes_positive"),
        ]

    def __str__(self):
        every = "Weekly" if self.interval_weeks == 1 else (
            "Fortnightly" if self.interval_weeks == 2 else f"Every {self.interval_weeks} weeks")
        return f"{every} at {self.start_time:%H:%M} with {self.mentee}"
