"""Drive the wrap-up wizard through Django's test client, step by step, as a browser would post it."""

from django.urls import reverse


class WrapUpDriver:
    def __init__(self, client, appointment):
        self.client = client
        self.reference = appointment.reference
        self.url = reverse("appointment-wrap-up", args=[self.reference])

    def start(self, **params):
        return self.client.get(self.url, params)

    def post(self, step, **fields):
        data = {f"wrap_up_{self.reference}-current_step": step}
        data.update({f"{step}-{name}": value for name, value in fields.items() if value is not None})
        return self.client.post(self.url, data)

    def back(self, step, to, **fields):
        data = {f"wrap_up_{self.reference}-current_step": step, "wizard_goto_step": to}
        data.update({f"{step}-{name}": value for name, value in fields.items()})
        return self.client.post(self.url, data)

    def current_step(self, response):
        return response.context["wizard"]["steps"].current

    def run(self, outcome="attended", funding=None, notes="Worked on essay planning.", minutes=None,
            admin_details="", reason=None, internal_note="Told me by text; a family matter."):
        """Answer every step; returns the final response (not followed). A late-notice cancellation is given
        `reason` (a CancellationReason's pk; by default the first on the list) and `internal_note`."""
        self.start()
        response = self.post("outcome", outcome=outcome)
        if self.current_step(response) == "cancellation":
            if reason is None:
                reason = response.context["form"].fields["reason"].queryset.first().pk
            response = self.post("cancellation", reason=reason, internal_note=internal_note)
        if self.current_step(response) == "funding":
            response = self.post("funding", funding=funding)
        assert self.current_step(response) == "notes", response.context["form"].errors
        fields = {"session_notes": notes}
        form = response.context["form"]
        if "actual_minutes" in form.fields:
            fields["actual_minutes"] = minutes if minutes is not None else form.initial["actual_minutes"]
        response = self.post("notes", **fields)
        assert self.current_step(response) == "review", response.context["form"].errors
        return self.post("review", admin_details=admin_details)
