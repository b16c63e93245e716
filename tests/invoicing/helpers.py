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
