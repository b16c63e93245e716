from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from sessions_app.bank import (
    ACCOUNT_NAME_MAX,
    mask_account_number,
    mask_sort_code,
    validate_account_number_digits,
    validate_sort_code_digits,
)
from sessions_app.validators import validate_one_line

from .people import Mentor


class MentorBankDetails(models.Model):
    """Where a mentor is paid: entered by the mentor on "My details" or by Finance in the admin, through
    `bank_details_save`. Shown masked (****5678, **-**-56) except to those with `view_bank_details`; every change
    and every view in full is a row in the history (who, when, why)."""

    mentor = models.OneToOneField(Mentor, on_delete=models.CASCADE, related_name="bank_details")
    account_name = models.CharField("name on the account", max_length=ACCOUNT_NAME_MAX,
                                    validators=[validate_one_line])
    sort_code = models.CharField(max_length=6, validators=[validate_sort_code_digits])
    account_number = models.CharField(max_length=8, validators=[validate_account_number_digits])
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = "mentor's bank details"
        verbose_name_plural = "mentors' bank details"
        ordering = ["mentor__user__full_name"]
        permissions = [("view_bank_details", "Can see mentors' full sort codes and account numbers")]
        constraints = [
            models.CheckConstraint(condition=Q(sort_code__regex=r"^[0-9]{6}$"), name="bank_sort_code_six_digits"),
            models.CheckConstraint(condition=Q(account_number__regex=r"^[0-9]{8}$"),
                                   name="bank_account_number_eight_digits"),
            models.CheckConstraint(condition=~Q(account_name=""), name="bank_account_name_not_blank"),
        ]

    def __str__(self):
        return f"{self.mentor}: {self.masked_sort_code} {self.masked_account_number}"

    @property
    def masked_sort_code(self) -> str:
        return mask_sort_code(self.sort_code)

    @property
    def masked_account_number(self) -> str:
        return mask_account_number(self.account_number)
