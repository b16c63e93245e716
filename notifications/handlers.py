"""What notifications does when sessions_app announces a domain event (sessions_app/events.py). Connected in
NotificationsConfig.ready; each runs in the transaction of the service that sent the event."""

from sessions_app import events

from notifications.services import (
    attendance_emails_queue,
    funder_emails_settle,
    wrap_up_correction_queue,
    wrap_up_reopened_queue,
    wrap_up_request_queue,
)
from notifications.services.sign_off import sign_off_email_queue
from notifications.services.scheduling import (
    booking_confirmations_queue,
    calendar_cancellations_queue,
    move_emails_queue,
    rebooking_hold_until,
)


def on_wrap_up_request_sent(sender, *, request, **kwargs):
    wrap_up_request_queue(request=request)


def on_funding_settled(sender, *, appointment, **kwargs):
    funder_emails_settle(appointment=appointment)
    # The mentee's attendance email went when the session went to Finance, without a link: the link comes now.
    sign_off_email_queue(appointment=appointment)


def on_appointment_wrapped_up(sender, *, appointment, **kwargs):
    attendance_emails_queue(appointment=appointment)  # with the sign-off link, when the session needs one


def on_appointment_cancelled(sender, *, appointment, rebooking_offered=False, **kwargs):
    attendance_emails_queue(appointment=appointment,
                            hold_until=rebooking_hold_until(appointment) if rebooking_offered else None)


def on_wrap_up_corrected(sender, *, appointment, before, after, **kwargs):
    wrap_up_correction_queue(appointment=appointment, before=before, after=after)


def on_wrap_up_reopened(sender, *, appointment, acting_user, reason, **kwargs):
    wrap_up_reopened_queue(appointment=appointment, acting_user=acting_user, reason=reason)


def on_appointments_booked(sender, *, appointments, series=None, replaces=None, **kwargs):
    booking_confirmations_queue(appointments=appointments, series=series, replaces=replaces)


def on_appointment_moved(sender, *, appointment, was_starts_at, was_ends_at, **kwargs):
    move_emails_queue(appointment=appointment, was_starts_at=was_starts_at, was_ends_at=was_ends_at)


def on_appointment_cancelled_take_out_of_calendars(sender, *, appointment, **kwargs):
    calendar_cancellations_queue(appointment=appointment)


def connect() -> None:
    events.appointment_wrapped_up.connect(on_appointment_wrapped_up,
                                          dispatch_uid="notifications:appointment-wrapped-up")
    events.appointment_cancelled.connect(on_appointment_cancelled, dispatch_uid="notifications:appointment-cancelled")
    events.wrap_up_request_sent.connect(on_wrap_up_request_sent, dispatch_uid="notifications:wrap-up-request-sent")
    events.funding_settled.connect(on_funding_settled, dispatch_uid="notifications:funding-settled")
    events.wrap_up_corrected.connect(on_wrap_up_corrected, dispatch_uid="notifications:wrap-up-corrected")
    events.wrap_up_reopened.connect(on_wrap_up_reopened, dispatch_uid="notifications:wrap-up-reopened")
    # After the attendance handler: the calendar cancellation rides on the mentee's attendance email.
    events.appointments_booked.connect(on_appointments_booked, dispatch_uid="notifications:appointments-booked")
    events.appointment_moved.connect(on_appointment_moved, dispatch_uid="notifications:appointment-moved")
    events.appointment_cancelled.connect(on_appointment_cancelled_take_out_of_calendars,
                                         dispatch_uid="notifications:appointment-cancelled-calendar")
