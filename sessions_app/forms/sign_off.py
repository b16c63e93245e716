from django import forms

from sessions_app.services.sign_off import COMMENT_MAX

REASON_MAX = 1000


class SignOffForm(forms.Form):
    """The mentee's answer on the page their email's link opens."""

    answer = forms.ChoiceField(
        label="Is this right?", widget=forms.RadioSelect,
        choices=[("confirm", "Yes: this session took place as shown"), ("dispute", "No: something here is wrong")],
        error_messages={"required": "Choose yes or no.", "invalid_choice": "Choose yes or no."},
    )
    comment = forms.CharField(
        label="Comment (optional)", required=False, max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="If something is wrong, tell us what: the date, the time, how long it lasted, or the mentor.",
        error_messages={"max_length": f"Keep the comment to {COMMENT_MAX:,} characters or fewer."},
    )


class PaperSignOffForm(forms.Form):
    """Finance records a sign-off the mentee gave on paper."""

    answer = forms.ChoiceField(
        label="The mentee", widget=forms.RadioSelect,
        choices=[("confirm", "confirmed the session"), ("dispute", "disputed the session")],
        error_messages={"required": "Choose whether the mentee confirmed or disputed the session."},
    )
    reason = forms.CharField(
        label="Why you are recording it by hand", max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        help_text="For example: “signed timesheet received by post on 3 December”.",
        error_messages={"required": "Say why you are recording it by hand.",
                        "max_length": f"Keep the reason to {REASON_MAX:,} characters or fewer."},
    )
    comment = forms.CharField(
        label="The mentee's comment, if any", required=False, max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
        error_messages={"max_length": f"Keep the comment to {COMMENT_MAX:,} characters or fewer."},
    )
