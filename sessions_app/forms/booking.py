"""Forms for booking, repeating and moving sessions (issue 17). They only validate: the services decide."""

from django import forms

from sessions_app.models import CancellationReason, Mentee, Mentor, ServiceAppointment
from sessions_app.scheduling import MAX_MINUTES, MAX_SERIES_SESSIONS, MIN_MINUTES, Repeat, may_override_clash
from sessions_app.validators import validate_one_line

NO_NUL = "Null characters are not allowed."


class _PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name if isinstance(obj, Mentor) else obj.full_name


class WhenFields(forms.Form):
    date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                           error_messages={"required": "Enter the session's date.",
                                           "invalid": "Enter a real date, like 2026-03-17."})
    start_time = forms.TimeField(label="Starts at", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                                 help_text="UK time (Europe/London).",
                                 error_messages={"required": "Enter the time the session starts.",
                                                 "invalid": "Enter a time like 16:00."})
    booked_minutes = forms.IntegerField(
        label="Length (minutes)", min_value=MIN_MINUTES, max_value=MAX_MINUTES, initial=60,
        error_messages={"required": "Enter the session's length in minutes.",
                        "invalid": "Enter the length as a whole number of minutes.",
                        "min_value": f"A session lasts at least {MIN_MINUTES} minutes.",
                        "max_value": f"A session lasts at most {MAX_MINUTES // 60} hours ({MAX_MINUTES} minutes)."})


def _one_line(value: str, label: str) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise forms.ValidationError(NO_NUL)
    validate_one_line(value)
    return value


class BookingForm(WhenFields):
    """One session, or the first of a series."""

    REPEAT_CHOICES = [("none", "Does not repeat"), ("1", "Weekly"), ("2", "Fortnightly"), ("n", "Every few weeks")]
    ENDS_CHOICES = [("count", "After a number of sessions"), ("until", "On a date")]

    mentor = _PersonChoice(label="Mentor", queryset=Mentor.objects.none(), empty_label="Choose the mentor…",
                           error_messages={"required": "Choose the mentor.",
                                           "invalid_choice": "Choose a mentor from the list."})
    mentee = _PersonChoice(label="Mentee", queryset=Mentee.objects.none(), empty_label="Choose the mentee…",
                           error_messages={"required": "Choose the mentee.",
                                           "invalid_choice": "Choose one of the mentees in the list."})
    mode = forms.ChoiceField(label="How", choices=ServiceAppointment.Mode.choices, initial="in_person",
                             widget=forms.RadioSelect,
                             error_messages={"required": "Choose in person, online or phone.",
                                             "invalid_choice": "Choose in person, online or phone."})
    location = forms.CharField(label="Where, or the meeting link", required=False, max_length=255,
                               help_text="The address or room; for an online session the meeting link (https://…).",
                               error_messages={"max_length": "Keep the location to 255 characters."})
    repeat = forms.ChoiceField(label="Repeat", choices=REPEAT_CHOICES, initial="none",
                               error_messages={"required": "Choose whether the session repeats.",
                                               "invalid_choice": "Choose how the session repeats from the list."})
    interval_weeks = forms.IntegerField(label="Every how many weeks", required=False, min_value=1, max_value=52,
                                        error_messages={"invalid": "Enter a whole number of weeks.",
                                                        "min_value": "Repeat every 1 to 52 weeks.",
                                                        "max_value": "Repeat every 1 to 52 weeks."})
    ends = forms.ChoiceField(label="Ends", choices=ENDS_CHOICES, initial="count", required=False,
                             error_messages={"invalid_choice": "Choose when the repeat ends from the list."})
    count = forms.IntegerField(label="Number of sessions", required=False, min_value=2,
                               max_value=MAX_SERIES_SESSIONS,
                               error_messages={"invalid": "Enter the number of sessions as a whole number.",
                                               "min_value": f"A repeat has 2 to {MAX_SERIES_SESSIONS} sessions.",
                                               "max_value": f"A repeat has 2 to {MAX_SERIES_SESSIONS} sessions."})
    until = forms.DateField(label="Last date", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                            error_messages={"invalid": "Enter a real date for the end of the repeat."})
    skip_clashes = forms.BooleanField(label="Leave out the sessions that clash", required=False)
    clash_override_reason = forms.CharField(
        label="Book over the clash: why", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Senior Leadership only: the reason is kept in the session's history.",
        error_messages={"max_length": "Keep the reason to 500 characters."})
    replaces = forms.CharField(required=False, widget=forms.HiddenInput, max_length=20)

    def __init__(self, *args, user, **kwargs):
        from sessions_app.scheduling import bookable_mentees, bookable_mentors

        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["mentor"].queryset = bookable_mentors(user)
        self.fields["mentee"].queryset = bookable_mentees(user)
        mentors = list(self.fields["mentor"].queryset[:2])
        if len(mentors) == 1:  # a mentor books their own sessions: nothing to choose
            self.fields["mentor"].initial = mentors[0].pk
            self.fields["mentor"].widget = forms.HiddenInput()
        if not may_override_clash(user):
            del self.fields["clash_override_reason"]

    def clean_location(self):
        return _one_line(self.cleaned_data.get("location"), "location")

    def clean_clash_override_reason(self):
        reason = self.cleaned_data.get("clash_override_reason") or ""
        if "\x00" in reason:
            raise forms.ValidationError(NO_NUL)
        return reason.strip()

    def clean_replaces(self):
        value = (self.cleaned_data.get("replaces") or "").strip().upper()
        if not value:
            return None
        cancelled = ServiceAppointment.objects.filter(
            reference=value, status=ServiceAppointment.Status.CANCELLED).select_related("mentor__user", "mentee").first()
        if cancelled is None or not (cancelled.mentor.user_id == self.user.pk or self.fields["mentor"].queryset.filter(
                pk=cancelled.mentor_id).exists() and self.user.has_perm("sessions_app.book_for_any_mentor")):
            raise forms.ValidationError("Only a cancelled session of yours can be replaced.")
        return cancelled

    def clean(self):
        data = super().clean()
        repeat = data.get("repeat")
        if repeat and repeat != "none":
            weeks = {"1": 1, "2": 2}.get(repeat, data.get("interval_weeks"))
            if weeks is None and "interval_weeks" not in self.errors:
                self.add_error("interval_weeks", "Say every how many weeks the session repeats.")
            ends = data.get("ends") or "count"
            if ends == "count" and data.get("count") is None and "count" not in self.errors:
                self.add_error("count", "Say how many sessions to book.")
            if ends == "until" and data.get("until") is None and "until" not in self.errors:
                self.add_error("until", "Give the date of the last session.")
            data["repeat_rule"] = Repeat(weeks or 1, count=data.get("count") if ends == "count" else None,
                                         until=data.get("until") if ends == "until" else None)
        else:
            data["repeat_rule"] = None
        return data


class MoveForm(WhenFields):
    """Move or change one session: when, how long, and (left as they are unless changed) how and where."""

    mode = forms.ChoiceField(label="How", choices=ServiceAppointment.Mode.choices, required=False,
                             widget=forms.RadioSelect,
                             error_messages={"invalid_choice": "Choose in person, online or phone."})
    location = BookingForm.base_fields["location"]
    clash_override_reason = BookingForm.base_fields["clash_override_reason"]
    clean_location = BookingForm.clean_location

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override_clash(user):
            del self.fields["clash_override_reason"]

    clean_clash_override_reason = BookingForm.clean_clash_override_reason


class SeriesChangeForm(forms.Form):
    """Change this session and all the following ones of its series: time, length, place."""

    start_time = WhenFields.base_fields["start_time"]
    booked_minutes = WhenFields.base_fields["booked_minutes"]
    mode = BookingForm.base_fields["mode"]
    location = BookingForm.base_fields["location"]
    clean_location = BookingForm.clean_location


class SeriesCancelForm(forms.Form):
    """Cancel this session and all the following ones of its series."""

    reason = forms.ModelChoiceField(
        label="Cancellation reason", queryset=CancellationReason.objects.filter(is_active=True),
        empty_label="Choose a reason…", help_text="This will be shared in any attendance emails.",
        error_messages={"required": "Choose a cancellation reason from the list.",
                        "invalid_choice": "Choose a cancellation reason from the list."})
    internal_note = forms.CharField(
        label="Internal cancellation note", widget=forms.Textarea(attrs={"rows": 3}),
        help_text="This will not be shared in any attendance emails.",
        error_messages={"required": "Add an internal cancellation note (it is not shared in any attendance emails)."})

    def clean_internal_note(self):
        note = self.cleaned_data["internal_note"].strip()
        if "\x00" in note:
            raise forms.ValidationError(NO_NUL)
        if not note:
            raise forms.ValidationError(self.fields["internal_note"].error_messages["required"])
        return note
