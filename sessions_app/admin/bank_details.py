"""Mentors' bank details: masked for everyone, in full (and editable) only for those with `view_bank_details`,
each opening of the full details recorded in the details' history, as every change is."""

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError

from sessions_app import roles
from sessions_app.admin.common import AuditTrailAdmin, AuditTrailChanges
from sessions_app.bank import (
    ACCOUNT_NAME_MAX,
    mask_account_number,
    mask_sort_code,
    normalise_account_name,
    normalise_account_number,
    normalise_sort_code,
    show_sort_code,
)
from sessions_app.models import Mentor, MentorBankDetails
from sessions_app.services import bank_details_reveal, bank_details_save

MASKED = {"sort_code": mask_sort_code, "account_number": mask_account_number}


class MaskedAuditTrailChanges(AuditTrailChanges):
    """The history shows old and new sort codes and account numbers masked, like everywhere else."""

    def prepare_delta_change_value(self, change, value):
        if change.field in MASKED and isinstance(value, str):
            return MASKED[change.field](value)
        return super().prepare_delta_change_value(change, value)


def _normalised(normalise, value):
    try:
        return normalise(value)
    except ValidationError as error:
        raise forms.ValidationError(error.messages) from None


class MentorChoiceField(forms.ModelChoiceField):
    """A mentor from the list; a posted id too big for the database is "not one of the choices", not an error."""

    def to_python(self, value):
        digits = re.fullmatch(r"\s*[+-]?([0-9]+)\s*", value) if isinstance(value, str) else None
        if digits and (len(digits[1].lstrip("0")) > 19 or int(digits[1]) >= 2**63):  # 5,000 digits: no int()
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class BankDetailsForm(forms.ModelForm):
    mentor = MentorChoiceField(queryset=Mentor.objects.select_related("user"))
    account_name = forms.CharField(label="Name on the account", max_length=ACCOUNT_NAME_MAX + 20)
    sort_code = forms.CharField(max_length=20, help_text="Six digits: 12-34-56, 12 34 56 or 123456.")
    account_number = forms.CharField(max_length=20, help_text="Eight digits.")

    class Meta:
        model = MentorBankDetails
        fields = ("mentor", "account_name", "sort_code", "account_number")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["sort_code"] = show_sort_code(self.instance.sort_code)

    def clean_account_name(self):
        return _normalised(normalise_account_name, self.cleaned_data["account_name"])

    def clean_sort_code(self):
        return _normalised(normalise_sort_code, self.cleaned_data["sort_code"])

    def clean_account_number(self):
        return _normalised(normalise_account_number, self.cleaned_data["account_number"])


@admin.register(MentorBankDetails)
class MentorBankDetailsAdmin(AuditTrailAdmin):
    form = BankDetailsForm
    list_display = ("mentor", "account_name", "masked_sort_code", "masked_account_number", "updated_at", "updated_by")
    list_select_related = ("mentor__user", "updated_by")
    search_fields = ("mentor__user__full_name", "mentor__user__email", "account_name")
    search_help_text = "Search by the mentor's name or email, or the name on the account."
    MASKED_FIELDS = ("mentor", "account_name", "masked_sort_code", "masked_account_number", "updated_at", "updated_by")

    @admin.display(description="sort code")
    def masked_sort_code(self, details):
        return details.masked_sort_code

    @admin.display(description="account number")
    def masked_account_number(self, details):
        return details.masked_account_number

    @staticmethod
    def sees_in_full(request) -> bool:
        return request.user.has_perm(roles.VIEW_BANK_DETAILS)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self.sees_in_full(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self.sees_in_full(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return self.MASKED_FIELDS
        return ("mentor", "account_name", "sort_code", "account_number")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if not self.has_change_permission(request, obj):
            return self.MASKED_FIELDS
        return ("mentor",)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method in ("GET", "HEAD") and getattr(response, "status_code", None) == 200 \
                and self.sees_in_full(request):
            details = self.get_object(request, object_id)
            if details is not None:
                bank_details_reveal(details=[details], viewer=request.user, purpose="the admin page")
        return response

    def save_model(self, request, obj, form, change):
        saved = bank_details_save(
            mentor=obj.mentor, acting_user=request.user, account_name=form.cleaned_data["account_name"],
            sort_code=form.cleaned_data["sort_code"], account_number=form.cleaned_data["account_number"],
        )
        obj.pk, obj.updated_by_id = saved.pk, saved.updated_by_id

    def get_historical_record_context_helper(self, request, historical_record):
        return MaskedAuditTrailChanges(self.model, historical_record)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # An old version would show the details in full, unrecorded: the history list (masked) is what there is.
        raise PermissionDenied
