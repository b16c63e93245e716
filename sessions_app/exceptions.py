class AppointmentActionNotAllowed(Exception):
    """An action on a Service Appointment that its state, its time or the user does not allow.

    The message is written for the person who tried, and views show it as it is.
    """


class AppointmentAlreadyWrappedUp(AppointmentActionNotAllowed):
    pass


class AppointmentAlreadyCancelled(AppointmentActionNotAllowed):
    pass


class LateNoticeCancellation(AppointmentActionNotAllowed):
    """Too close to the start to cancel in advance: it is recorded by wrapping up as a late-notice cancellation."""


class AccountNotLockedOut(Exception):
    """Unlocking an address that is not locked out (now): nothing to unlock. The message is for the person who tried."""


class SignOffAlreadyAnswered(Exception):
    """The mentee's sign-off of a session is answered already: the link works once. The message says how and when."""
