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
# appointment, acting_user, sent_to_finance (its funding is missing: it is Awaiting Finance).
appointment_wrapped_up = Signal()

# A session was cancelled in advance. Keyword argument: appointment.
appointment_cancelled = Signal()

# Sessions were booked in the browser (one, or a series at once). Keyword arguments: appointments (in time order),
# series (or None), acting_user, replaces (the cancelled session they replace, or None).
appointments_booked = Signal()

# A session still to come was moved to another time. Keyword arguments: appointment (as it is now), was_starts_at,
# was_ends_at, acting_user.
appointment_moved = Signal()
