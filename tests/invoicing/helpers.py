from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sessions_app.models import CancellationReason
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory

LONDON = ZoneInfo("Europe/London")


def at(year, month, day, hour=10, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def completed_session(mentor, arrangement, start, *, minutes=60, booked=60, outcome="attended", by=None):
    """A session booked for `booked` minutes and wrapped up (just after it ended) with `minutes` actual."""
    appointment = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee if arrangement else None,
                                     starts_at=start, ends_at=start + timedelta(minutes=booked))
    late = outcome == "late_cancellation"
    return appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=by or mentor.user, now=start + timedelta(minutes=booked + 5),
        answers=WrapUp(outcome=outcome, funding_arrangement=arrangement if outcome != "cancelled" else None,
                       session_notes="Notes", actual_minutes=minutes if outcome == "attended" else None,
                       cancellation_reason=CancellationReason.objects.first() if late else None,
                       cancellation_note="Told the mentor on the day." if late else ""),
    )


CONFIRMATION = "admin/invoicing/confirm_action.html"


def is_confirmation(response) -> bool:
    return response.status_code == 200 and any(t.name == CONFIRMATION for t in response.templates)


def act_and_confirm(client, url: str, action: str, ids, *, follow=True):
    """An admin action as Finance runs it: chosen in the list, then, for an irreversible one, confirmed with the
    confirmation page's button when it has one (its hidden fields posted back). A page without a button (everything
    refused) is returned as it is."""
    data = {"action": action, "_selected_action": list(ids)}
    response = client.post(url, data, follow=follow)
    if not is_confirmation(response) or not response.context["n_changed"]:
        return response
    return client.post(url, confirmation_fields(response), follow=follow)


def confirmation_fields(page) -> dict:
    """What the confirmation page's button posts."""
    return {"action": page.context["spec"].action, "post": "yes", "confirm": page.context["token"], "index": "0",
            "select_across": "1", "ids": page.context["ids"], "_selected_action": page.context["first_id"]}
