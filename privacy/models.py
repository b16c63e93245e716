"""What the privacy app keeps itself: who exported or erased whose data, and why (never the data itself), and the
internal cancellation notes Finance withholds from subject access exports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import ServiceAppointment


class Subject(models.TextChoices):
    MENTEE = "mentee", "Mentee"
    MENTOR = "mentor", "Mentor"


class PersonalDataExport(models.Model):
    """One subject access export: who made it, when, and of whom (by kind and id: no name is copied here)."""

    subject_kind = models.CharField("person is a", max_length=10, choices=Subject.choices)
    subject_id = models.PositiveIntegerField("person's id")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name="exported by")
    requested_at = models.DateTimeField("exported at", default=timezone.now)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = "personal data export"
        permissions = [
            ("export_personal_data", "Can export everything held about a mentee or mentor (subject access request)"),
        ]

    def __str__(self):
        return f"Export of {self.get_subject_kind_display().lower()} {self.subject_id}"


class Erasure(models.Model):
    """One "Erase this person": who erased whom, when and why, and how many rows each part changed. The erased
    values are not recorded anywhere."""

    subject_kind = models.CharField("person was a", max_length=10, choices=Subject.choices)
    subject_id = models.PositiveIntegerField("person's id")
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    erased_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(help_text="Why, e.g. “Erasure request received 2 March 2027, ref. DP-12”. "
                                        "Never the person's name or contact details.")
    counts = models.JSONField(default=dict, help_text="Rows anonymised, by what they were.")

    class Meta:
        ordering = ["-erased_at"]
        verbose_name = "erasure"
        permissions = [
            ("erase_personal_data", "Can erase a mentee's or mentor's personal data"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="erasure_has_reason")]

    def __str__(self):
        return f"Erasure of {self.get_subject_kind_display().lower()} {self.subject_id}"


class WithheldNote(models.Model):
    """An internal cancellation note left out of the mentee's subject access export, with Finance's reason (an
    exemption, e.g. it would reveal someone else's data)."""

    appointment = models.OneToOneField(ServiceAppointment, on_delete=models.CASCADE, related_name="withheld_note",
                                       verbose_name="session")
    reason = models.TextField(help_text="Why the internal note is withheld from the mentee's export.")
    withheld_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    withheld_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-withheld_at"]
        verbose_name = "internal note withheld from exports"
        verbose_name_plural = "internal notes withheld from exports"
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="withheld_note_has_reason")]

    def __str__(self):
        return f"Internal note of {self.appointment.reference}"
