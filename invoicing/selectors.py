"""Reads for Finance: the queue of flagged sessions and open tickets, each in a fixed number of queries."""

from dataclasses import dataclass

from django.db.models import Prefetch

from invoicing.models import FinanceTicket
from sessions_app.models import AppointmentEvent, Mentee, ServiceAppointment


def open_tickets():
    """Open tickets, oldest first."""
    return FinanceTicket.objects.filter(status=FinanceTicket.Status.OPEN).order_by("raised_at", "pk")


def appointments_awaiting_finance():
    """Sessions wrapped up with information missing, the longest waiting first, each with its open tickets
    (as `open_tickets`)."""
    return (
        ServiceAppointment.objects.filter(status=ServiceAppointment.Status.AWAITING_FINANCE)
        .select_related("mentor__user", "mentee", "wrapped_up_by")
        .prefetch_related(
            Prefetch("finance_tickets", queryset=open_tickets().select_related("raised_by"), to_attr="open_tickets")
        )
        .order_by("wrapped_up_at", "starts_at", "pk")
    )


@dataclass
class FinanceQueue:
    appointments: list[ServiceAppointment]
    tickets: list[FinanceTicket]

    @property
    def is_empty(self) -> bool:
        return not self.appointments and not self.tickets


def finance_queue() -> FinanceQueue:
    """What Finance has to do: the sessions awaiting Finance and every open ticket. Three queries, however many."""
    return FinanceQueue(
        appointments=list(appointments_awaiting_finance()),
        tickets=list(
            open_tickets().select_related("appointment__mentor__user", "appointment__mentee", "raised_by")
        ),
    )


def appointments_awaiting_finance_for(mentee: Mentee) -> list[ServiceAppointment]:
    """The mentee's sessions waiting for Finance to add their funding."""
    return list(appointments_awaiting_finance().filter(mentee=mentee))


def finance_completion(appointment: ServiceAppointment) -> AppointmentEvent | None:
    """The event recording that Finance completed this session's wrap-up, if it has."""
    return (
        appointment.events.filter(kind=AppointmentEvent.Kind.COMPLETED_BY_FINANCE)
        .select_related("actor")
        .order_by("-occurred_at", "-pk")
        .first()
    )
