"""The forms that correct a wrap-up (Finance in the admin; Senior Leadership on their page) and reopen a session.
They only check what was typed; the service decides and says what is wrong."""

from django import forms

from sessions_app.models import CancellationReason, FundingArrangement, ServiceAppointment
from sessions_app.services.corrections import (
    CORRECTION_OUTCOMES,
    NOTES_MAX,
    REASON_MAX,
    REASON_MISSING,
    REOPEN_REASON_MISSING,
)

def _reason_field(missing: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label="Why", widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=REASON_MAX,
        error_messages={"required": missing,
                        "max_length": f"Keep the reason to {REASON_MAX} characters or fewer."},
        help_text=help_text,
    )


class CorrectOutcomeForm(forms.Form):
    """Senior Leadership's correction: what happened, and the notes."""

    outcome = forms.ChoiceField(label="What happened", widget=forms.RadioSelect, choices=CORRECTION_OUTCOMES,
                                error_messages={"required": "Choose what happened in the session.",
                                                "invalid_choice": "Choose what happened in the session."})
    session_notes = forms.CharField(
        label="Session notes", required=False, widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        max_length=NOTES_MAX,
        error_messages={"max_length": f"Keep the session notes to {NOTES_MAX} characters or fewer."})
    cancellation_reason = forms.ModelChoiceField(
        label="Cancellation reason (a late-notice cancellation only)", required=False,
        queryset=CancellationReason.objects.all(), empty_label="Choose a reason…",
        help_text="Shared in the attendance email.",
        error_messages={"invalid_choice": "Choose a cancellation reason from the list."})
    cancellation_note = forms.CharField(
        label="Internal cancellation note (a late-notice cancellation only)", required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}), max_length=NOTES_MAX,
        help_text="Never shared in attendance emails.",
        error_messages={"max_length": f"Keep the note to {NOTES_MAX} characters or fewer."})
    reason = _reason_field(REASON_MISSING, "Kept in the session's history with what changed, and who changed it.")

    def __init__(self, *args, appointment: ServiceAppointment, **kwargs):
        kwargs.setdefault("initial", {
            "outcome": appointment.outcome, "session_notes": appointment.session_notes,
            "cancellation_reason": appointment.cancellation_reason_id,
            "cancellation_note": appointment.cancellation_note})
        super().__init__(*args, **kwargs)
        self.appointment = appointment
        # Offered: the active reasons, and the session's own even if Finance has since retired it.
        field = self.fields["cancellation_reason"]
        field.queryset = CancellationReason.objects.filter(is_active=True) | CancellationReason.objects.filter(
            pk=appointment.cancellation_reason_id or 0)

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        late = data["outcome"] == ServiceAppointment.Outcome.LATE_CANCELLATION
        return {"outcome": data["outcome"], "session_notes": data["session_notes"], "reason": data["reason"],
                "cancellation_reason": data["cancellation_reason"] if late else None,
                "cancellation_note": data["cancellation_note"] if late else ""}


class CorrectWrapUpForm(CorrectOutcomeForm):
    """Finance's correction: besides the outcome and notes, the funding and the actual duration."""

    funding_arrangement = forms.ModelChoiceField(
        queryset=FundingArrangement.objects.none(), required=False, widget=forms.RadioSelect, empty_label=None,
        label="Funding arrangement",
        error_messages={"invalid_choice": "Choose one of the funding arrangements listed."},
        help_text="Not needed for a session that did not take place (Cancelled).")
    actual_minutes = forms.IntegerField(
        label="Actual duration (minutes)", required=False, min_value=1, max_value=10_000,
        error_messages={"invalid": "Enter the actual duration as a whole number of minutes.",
                        "min_value": "The actual duration must be at least 5 minutes.",
                        "max_value": "The actual duration cannot be more than 8 hours (480 minutes)."},
        help_text="Leave empty when the session lasted as long as it was booked for.")

    field_order = ["outcome", "cancellation_reason", "cancellation_note", "funding_arrangement", "actual_minutes",
                   "session_notes", "reason"]

    def __init__(self, *args, appointment: ServiceAppointment, options: list[FundingArrangement], **kwargs):
        kwargs.setdefault("initial", {
            "outcome": appointment.outcome, "session_notes": appointment.session_notes,
            "funding_arrangement": appointment.funding_arrangement_id, "actual_minutes": appointment.actual_minutes,
            "cancellation_reason": appointment.cancellation_reason_id,
            "cancellation_note": appointment.cancellation_note})
        super().__init__(*args, appointment=appointment, **kwargs)
        offered = list(options)
        if appointment.funding_arrangement_id and appointment.funding_arrangement_id not in {o.pk for o in offered}:
            offered.insert(0, appointment.funding_arrangement)  # today's, even if no longer valid on its date
        self.fields["reason"].help_text = (
            "Kept in the session's history with what changed, and who changed it; it is also the reason given on a "
            "credit note, when the session was on an issued invoice.")
        field = self.fields["funding_arrangement"]
        field.queryset = FundingArrangement.objects.filter(mentee_id=appointment.mentee_id).select_related("funder")
        field.choices = [(option.pk, option.label) for option in offered]

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {**super().service_arguments(), "funding_arrangement": data["funding_arrangement"],
                "actual_minutes": data["actual_minutes"]}


class ReopenForm(forms.Form):
    reason = _reason_field(REOPEN_REASON_MISSING, "Kept in the session's history with what the wrap-up said.")
