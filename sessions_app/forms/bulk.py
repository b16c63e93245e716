"""A status for each of a mentor's sessions: Senior Leadership's list, and the mentor's request to them.

The forms only validate; the services in sessions_app/services/bulk.py record. Each session's fields are named
after its id (outcome_<id>, notes_<id>), so a session that changed between showing and posting the page is still
sent to the service, which says what happened to it.
"""

from dataclasses import dataclass

from django import forms

from sessions_app.services.bulk import STATUS_CHOICES

OUTCOME_PREFIX = "outcome_"
NOTES_MAX_LENGTH = 2000


def posted_ids(data) -> list[int]:
    """The session ids a posted page carried, in the order they were posted."""
    ids = []
    for key in data or {}:
        digits = key[len(OUTCOME_PREFIX):]
        # ASCII digits only ("²".isdigit() is true, but int() refuses it), and no more than a bigint holds.
        if key.startswith(OUTCOME_PREFIX) and digits.isascii() and digits.isdigit() and len(digits) <= 18:
            ids.append(int(digits))
    return ids


@dataclass
class BoundRow:
    row: object  # what the page lists for the session (an appointment, or a selectors.WrapUpRow)
    appointment: object
    outcome: forms.BoundField
    notes: forms.BoundField | None


class SessionStatusesForm(forms.Form):
    blank_label = "Leave as it is"
    with_notes = False

    def __init__(self, *args, appointments, extra_ids=(), initial_outcomes=None, **kwargs):
        """`appointments` are the sessions the page shows; `extra_ids` any others the post carried."""
        super().__init__(*args, **kwargs)
        initial_outcomes = initial_outcomes or {}
        labels = {a.pk: a.reference for a in appointments}
        self.shown_ids = set(labels)
        self.ids = list(dict.fromkeys([a.pk for a in appointments] + list(extra_ids)))
        for pk in self.ids:
            reference = labels.get(pk, "the session")
            self.fields[f"{OUTCOME_PREFIX}{pk}"] = forms.ChoiceField(
                label=f"Status of {reference}", required=False, choices=[("", self.blank_label), *STATUS_CHOICES],
                error_messages={"invalid_choice": f"Choose the status of {reference} from the list."},
            )
            if pk in initial_outcomes:
                self.initial[f"{OUTCOME_PREFIX}{pk}"] = initial_outcomes[pk]
            if self.with_notes:
                self.fields[f"notes_{pk}"] = forms.CharField(
                    label=f"Notes for {reference}", required=False, max_length=NOTES_MAX_LENGTH,
                    error_messages={"max_length": f"Keep the notes for {reference} under {NOTES_MAX_LENGTH} characters."},
                )

    def clean(self):
        cleaned = super().clean()
        # A session the page no longer lists (settled meanwhile) has no row to show its errors on: show them on top.
        for pk in self.ids:
            if pk not in self.shown_ids:
                for name in (f"{OUTCOME_PREFIX}{pk}", f"notes_{pk}"):
                    for error in self.errors.get(name, []):
                        self.add_error(None, error)
        return cleaned

    def bound_rows(self, rows, appointment=lambda row: row) -> list[BoundRow]:
        bound = []
        for row in rows:
            a = appointment(row)
            bound.append(BoundRow(
                row=row, appointment=a, outcome=self[f"{OUTCOME_PREFIX}{a.pk}"],
                notes=self[f"notes_{a.pk}"] if self.with_notes else None,
            ))
        return bound

    def chosen(self) -> list[tuple[int, str, str]]:
        """(id, outcome, notes) for each session given a status, in page order."""
        data = self.cleaned_data
        return [
            (pk, data[f"{OUTCOME_PREFIX}{pk}"], (data.get(f"notes_{pk}") or "").strip())
            for pk in self.ids
            if data.get(f"{OUTCOME_PREFIX}{pk}")
        ]


class BulkWrapUpForm(SessionStatusesForm):
    """Senior Leadership give each session's status; blank leaves it as it is."""

    blank_label = "Leave as it is"
    with_notes = True

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not self.chosen():
            raise forms.ValidationError("Choose a status for at least one session. Nothing was changed.")
        return cleaned


class WrapUpRequestForm(SessionStatusesForm):
    """A mentor tells Senior Leadership each session's status; blank leaves the session out of the request."""

    blank_label = "Not included"
    message = forms.CharField(
        label="Message for Senior Leadership (optional)", required=False, max_length=NOTES_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Anything they should know, for example why you cannot wrap up.",
    )
