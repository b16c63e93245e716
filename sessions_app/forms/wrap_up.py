"""The wrap-up wizard's steps. They only validate; the service records."""

from django import forms

from sessions_app.forms.cancel import CancelReasonForm
from sessions_app.models import ServiceAppointment
from sessions_app.services.wrap_up import MAX_MINUTES, MIN_MINUTES, duration_problem, outcomes_for
from sessions_app.validators import validate_one_line

Outcome = ServiceAppointment.Outcome
MISSING = "missing"


class OutcomeForm(forms.Form):
    title = "What happened?"
    outcome = forms.ChoiceField(
        label="Choose what happened in the session", widget=forms.RadioSelect,
        error_messages={"required": "Choose what happened in the session."},
    )

    def __init__(self, *args, user, before_start=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outcome"].choices = outcomes_for(user, before_start=before_start)
        if before_start:
            self.initial.setdefault("outcome", Outcome.LATE_CANCELLATION)
            self.fields["outcome"].help_text = (
                "The session has not started yet, so it can only be recorded as a late-notice cancellation."
            )


class LateCancellationForm(CancelReasonForm):
    """A late-notice cancellation asks what a cancellation in advance asks: the reason from the list (shared in the
    attendance email) and the internal note (never shared)."""

    title = "Why was the session cancelled?"
    step_title = "Reason and note"


class FundingForm(forms.Form):
    title = "Funding Type"
    funding = forms.ChoiceField(label="Funding Type", widget=forms.RadioSelect, required=False)

    def __init__(self, *args, options, **kwargs):
        super().__init__(*args, **kwargs)
        self.options = {str(option.pk): option for option in options}
        choices = [(pk, option.label) for pk, option in self.options.items()]
        if choices:
            choices.append((MISSING, "Not sure, or none of these is right: I will explain in Admin Details"))
        self.fields["funding"].choices = choices
        if len(options) == 1 and not self.is_bound:
            self.initial.setdefault("funding", str(options[0].pk))

    def clean_funding(self):
        value = self.cleaned_data["funding"]
        return self.options.get(value)


class NotesForm(forms.Form):
    title = "Session notes"
    session_notes = forms.CharField(
        label="What was covered?", widget=forms.Textarea(attrs={"rows": 6}), required=False,
        help_text="A few lines on what you worked on, for the session record.",
    )
    actual_minutes = forms.IntegerField(
        label="Actual duration (minutes)", required=False,
        widget=forms.NumberInput(attrs={"min": MIN_MINUTES, "max": MAX_MINUTES, "inputmode": "numeric"}),
        error_messages={"invalid": "Enter the actual duration as a whole number of minutes."},
    )

    def __init__(self, *args, outcome, booked_minutes, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome = outcome
        self.fields["actual_minutes"].help_text = f"Booked for {booked_minutes} minutes."
        self.initial.setdefault("actual_minutes", booked_minutes)
        if outcome != Outcome.ATTENDED:
            del self.fields["actual_minutes"]
            self.fields["session_notes"].label = "Anything to add? (optional)"
            self.fields["session_notes"].help_text = ""

    def clean_session_notes(self):
        notes = self.cleaned_data["session_notes"].strip()
        if self.outcome == Outcome.ATTENDED and not notes:
            raise forms.ValidationError("Tell us what was covered in the session.")
        return notes

    def clean_actual_minutes(self):
        minutes = self.cleaned_data["actual_minutes"]
        if minutes is None:
            raise forms.ValidationError("Enter how long the session actually lasted, in minutes.")
        problem = duration_problem(minutes)
        if problem:
            raise forms.ValidationError(problem)
        return minutes


class ReviewForm(forms.Form):
    title = "Review"
    admin_details = forms.CharField(
        label="Admin Details", widget=forms.Textarea(attrs={"rows": 4}), required=False,
        help_text="Explain anything missing or wrong, briefly. Finance reads this.",
    )

    def __init__(self, *args, missing: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.missing = missing
        if missing:
            self.fields["admin_details"].help_text = (
                f"Missing: {', '.join(missing)}. Explain the issue briefly: Finance will find the missing "
                "information, add it to the mentee's account, and wrap up this session for you."
            )

    def clean_admin_details(self):
        details = self.cleaned_data["admin_details"].strip()
        if self.missing and not details:
            raise forms.ValidationError(
                f"Something is missing ({', '.join(self.missing)}): explain the issue in Admin Details "
                "so Finance can sort it out."
            )
        return details


class TicketForm(forms.Form):
    subject = forms.CharField(max_length=200, validators=[validate_one_line],
                              error_messages={"required": "Give the ticket a subject."})
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), error_messages={"required": "Tell Finance what you need."}
    )
