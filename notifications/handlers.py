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


def on_wrap_up_request_sent(sender, *, request, **kwargs):
    wrap_up_request_queue(request=request)


def on_funding_settled(sender, *, appointment, **kwargs):
    funder_emails_settle(appointment=appointment)


def on_appointment_wrapped_up_or_cancelled(sender, *, appointment, **kwargs):
    attendance_emails_queue(appointment=appointment)


def on_wrap_up_corrected(sender, *, appointment, before, after, **kwargs):
    wrap_up_correction_queue(appointment=appointment, before=before, after=after)


def on_wrap_up_reopened(sender, *, appointment, acting_user, reason, **kwargs):
    wrap_up_reopened_queue(appointment=appointment, acting_user=acting_user, reason=reason)


def connect() -> None:
    events.appointment_wrapped_up.connect(on_appointment_wrapped_up_or_cancelled,
                                          dispatch_uid="notifications:appointment-wrapped-up")
    events.appointment_cancelled.connect(on_appointment_wrapped_up_or_cancelled,
                                         dispatch_uid="notifications:appointment-cancelled")
    events.wrap_up_request_sent.connect(on_wrap_up_request_sent, dispatch_uid="notifications:wrap-up-request-sent")
    events.funding_settled.connect(on_funding_settled, dispatch_uid="notifications:funding-settled")
    events.wrap_up_corrected.connect(on_wrap_up_corrected, dispatch_uid="notifications:wrap-up-corrected")
    events.wrap_up_reopened.connect(on_wrap_up_reopened, dispatch_uid="notifications:wrap-up-reopened")
