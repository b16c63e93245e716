from .appointments import AppointmentEvent, CancellationReason, ServiceAppointment
from .people import Funder, FundingArrangement, Mentee, Mentor, TaxPointRule
from .sequences import Sequence
from .users import User

__all__ = [
    "AppointmentEvent",
    "CancellationReason",
    "Funder",
    "FundingArrangement",
    "Mentee",
    "Mentor",
    "Sequence",
    "ServiceAppointment",
    "TaxPointRule",
    "User",
]
from .requests import WrapUpRequest, WrapUpRequestItem  # noqa: E402
from .bank_details import MentorBankDetails  # noqa: E402

__all__ += ["MentorBankDetails", "WrapUpRequest", "WrapUpRequestItem"]
from .scheduling import AppointmentSeries, MentorAssignment  # noqa: E402

__all__ += ["AppointmentSeries", "MentorAssignment"]
from .sign_off import SessionSignOff  # noqa: E402

__all__ += ["SessionSignOff"]
