"""A status for each of a mentor's sessions: Senior Leadership's list, and the mentor's request to them.

The forms only validate; the services in sessions_app/services/bulk.py record. Each session's fields are named
after its id (outcome_<id>, notes_<id>), so a session that changed between showing and posting the page is still
sent to the service, which says what happened to it.
"""

from dataclasses import dataclass

from django import forms

from sessions_app.forms.cancel import CancelReasonForm
from sessions_app.models import CancellationReason, ServiceAppointment
from sessions_app.services.bulk import STATUS_CHOICES, StatusChoice

OUTCOME_PREFIX = "outcome_"
NOTES_MAX_LENGTH = 2000
LATE = ServiceAppointment.Outcome.LATE_CANCELLATION
REASON_REQUIRED = CancelReasonForm.base_fields["reason"].error_messages["required"]
NOTE_REQUIRED = CancelReasonForm.base_fields["internal_note"].error_messages["required"]


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
    reason: forms.BoundField  # asked only when the status is a late-notice cancellation
    internal_note: forms.BoundField

    @property
    def late_cancellation_fields(self):
        return (self.reason, self.internal_note)


class SessionStatusesForm(forms.Form):
    blank_label = "Leave as it is"
    with_notes = False

    def __init__(self, *args, appointments, extra_ids=(), initial_outcomes=None, **kwargs):
        """`appointments` are the sessions the page shows; `extra_ids` any others the post carried.
        `initial_outcomes` maps a session's id to a StatusChoice (or just its outcome) to start from."""
        super().__init__(*args, **kwargs)
        initial_outcomes = {
            pk: value if isinstance(value, StatusChoice) else StatusChoice(pk, value)
            for pk, value in (initial_outcomes or {}).items()
        }
        # One query for every row's list of reasons, however many rows the page has.
        reasons = {r.pk: r for r in CancellationReason.objects.filter(is_active=True).order_by("order", "label")}
        labels = {a.pk: a.reference for a in appointments}
        self.shown_ids = set(labels)
        self.ids = list(dict.fromkeys([a.pk for a in appointments] + list(extra_ids)))
        for pk in self.ids:
            reference = labels.get(pk, "the session")
            self.fields[f"{OUTCOME_PREFIX}{pk}"] = forms.ChoiceField(
                label=f"Status of {reference}", required=False, choices=[("", self.blank_label), *STATUS_CHOICES],
                error_messages={"invalid_choice": f"Choose the status of {reference} from the list."},
            )
            self.fields[f"reason_{pk}"] = forms.TypedChoiceField(
                label=f"Cancellation reason for {reference}", required=False, empty_value=None,
                choices=[("", "Choose a reason…"), *((r.pk, r.label) for r in reasons.values())],
                coerce=lambda value: reasons[int(value)], help_text="Shared in the attendance email.",
                error_messages={"invalid_choice": REASON_REQUIRED},
            )
            self.fields[f"internal_note_{pk}"] = forms.CharField(
                label=f"Internal cancellation note for {reference}", required=False, max_length=NOTES_MAX_LENGTH,
                help_text="Never shared.", widget=forms.Textarea(attrs={"rows": 2}),
                error_messages={"max_length": f"Keep the note for {reference} under {NOTES_MAX_LENGTH} characters."},
            )
            if pk in initial_outcomes:
                given = initial_outcomes[pk]
                self.initial[f"{OUTCOME_PREFIX}{pk}"] = given.outcome
                self.initial[f"reason_{pk}"] = getattr(given.cancellation_reason, "pk", None)
                self.initial[f"internal_note_{pk}"] = given.cancellation_note
            if self.with_notes:
                self.fields[f"notes_{pk}"] = forms.CharField(
                    label=f"Notes for {reference}", required=False, max_length=NOTES_MAX_LENGTH,
                    error_messages={"max_length": f"Keep the notes for {reference} under {NOTES_MAX_LENGTH} characters."},
                )

    def clean(self):
        cleaned = super().clean()
        for pk in self.ids:  # a late-notice cancellation asks what a cancellation in advance asks
            if cleaned.get(f"{OUTCOME_PREFIX}{pk}") != LATE:
                # Not asked for any other status, so whatever they hold is ignored, not refused.
                for name in (f"reason_{pk}", f"internal_note_{pk}"):
                    self.errors.pop(name, None)
                    cleaned.pop(name, None)
                continue
            if cleaned.get(f"reason_{pk}") is None and f"reason_{pk}" not in self.errors:
                self.add_error(f"reason_{pk}", REASON_REQUIRED)
            if not (cleaned.get(f"internal_note_{pk}") or "").strip() and f"internal_note_{pk}" not in self.errors:
                self.add_error(f"internal_note_{pk}", NOTE_REQUIRED)
        # A session the page no longer lists (settled meanwhile) has no row to show its errors on: show them on top.
        for pk in self.ids:
            if pk not in self.shown_ids:
                for name in (f"{OUTCOME_PREFIX}{pk}", f"notes_{pk}", f"reason_{pk}", f"internal_note_{pk}"):
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
                reason=self[f"reason_{a.pk}"], internal_note=self[f"internal_note_{a.pk}"],
            ))
        return bound

    def chosen(self) -> list[StatusChoice]:
        """What was said about each session given a status, in page order; the reason and internal note only for
        a late-notice cancellation."""
        data = self.cleaned_data
        chosen = []
        for pk in self.ids:
            outcome = data.get(f"{OUTCOME_PREFIX}{pk}")
            if not outcome:
                continue
            late = outcome == LATE
            chosen.append(StatusChoice(
                appointment_id=pk, outcome=outcome, notes=(data.get(f"notes_{pk}") or "").strip(),
                cancellation_reason=data.get(f"reason_{pk}") if late else None,
                cancellation_note=(data.get(f"internal_note_{pk}") or "").strip() if late else "",
            ))
        return chosen


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
