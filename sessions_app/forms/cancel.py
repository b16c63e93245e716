from django import forms

from sessions_app.models import CancellationReason


class CancelReasonForm(forms.Form):
    title = "Why is the session being cancelled?"
    reason = forms.ModelChoiceField(
        label="Cancellation reason",
        queryset=CancellationReason.objects.filter(is_active=True),
        empty_label="Choose a reason…",
        help_text="This will be shared in any attendance emails.",
        error_messages={
            "required": "Choose a cancellation reason from the list.",
            "invalid_choice": "Choose a cancellation reason from the list.",
        },
    )
    internal_note = forms.CharField(
        label="Internal cancellation note",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="This will not be shared in any attendance emails.",
        error_messages={"required": "Add an internal cancellation note (it is not shared in any attendance emails)."},
    )

    def clean_internal_note(self):
        note = self.cleaned_data["internal_note"].strip()
        if not note:
            raise forms.ValidationError(self.fields["internal_note"].error_messages["required"])
        return note


class CancelConfirmForm(forms.Form):
    title = "Check the attendance email, then confirm"
