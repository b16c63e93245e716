"""Domain events: how sessions_app tells the apps above it that something happened, without knowing them.

A service sends an event by name inside its transaction; notifications (and any other upper app) connect their
handlers in their AppConfig.ready. Handlers run in the same transaction, so what they write (an outbox row) commits
or rolls back with the change, and an exception in one undoes the change (`send`, not `send_robust`).
"""

from django.dispatch import Signal

# A mentor sent Senior Leadership a wrap-up request, or replaced the one they had open. Keyword argument: request.
wrap_up_request_sent = Signal()

# Finance completed a wrap-up that was with them: the session's funding is decided. Keyword arguments: appointment,
# acting_user, reply (Finance's answer to the tickets about it).
funding_settled = Signal()

# A session was wrapped up (by its mentor, on their behalf, or from Senior Leadership's list). Keyword arguments:
# appointment, acting_user, sent_to_finance (it is Awaiting Finance: its funding is missing, or it would take its
# arrangement past its authorised hours), finance_reason ("over authorised hours" for the latter, else "").
appointment_wrapped_up = Signal()

# A session was cancelled in advance. Keyword arguments: appointment, rebooking_offered (the canceller is offered
# "Book a replacement?" next: a replacement may follow within minutes).
appointment_cancelled = Signal()

# Finance (or Senior Leadership, outcome and notes only) corrected a completed session's wrap-up. Keyword arguments:
# appointment (as corrected), acting_user, before and after (sessions_app.services.corrections.WrapUpRecord), reason.
# invoicing puts right what was billed and paid; notifications corrects what a funder was told.
wrap_up_corrected = Signal()

# Finance reopened a wrapped-up session to be wrapped up again. Keyword arguments: appointment (now Scheduled),
# acting_user, before (WrapUpRecord), reason. A handler refuses (raises AppointmentActionNotAllowed, undoing the
# reopen) when the session is on an issued document.
wrap_up_reopened = Signal()

# Sessions were booked in the browser (one, or a series at once). Keyword arguments: appointments (in time order),
# series (or None), acting_user, replaces (the cancelled session they replace, or None).
appointments_booked = Signal()

# A session still to come was moved to another time. Keyword arguments: appointment (as it is now), was_starts_at,
# was_ends_at, acting_user.
appointment_moved = Signal()

# The mentee confirmed or disputed a session (by the link in their email, or Finance recorded it from paper). Keyword
# arguments: appointment, sign_off, acting_user (None for the mentee). invoicing gives a dispute to Finance.
sign_off_answered = Signal()
