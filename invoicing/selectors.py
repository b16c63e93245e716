"""Reads for Finance: the queue of flagged sessions and open tickets, each in a fixed number of queries; and which
payment statement pays a session wrapped up after its own month's was issued."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from invoicing.models import FinanceTicket, PaymentStatement
from invoicing.policy import Policy
from sessions_app import selectors
from sessions_app.models import Mentor, ServiceAppointment
from sessions_app.pay import StatementMove


def open_tickets():
    """Open tickets, oldest first."""
    return FinanceTicket.objects.filter(status=FinanceTicket.Status.OPEN).order_by("raised_at", "pk")


def appointments_awaiting_finance():
    """Sessions wrapped up with information missing, the longest waiting first, each with its open tickets
    (as `open_tickets`)."""
    return selectors.appointments_awaiting_finance().prefetch_related(
        Prefetch("finance_tickets", queryset=open_tickets().select_related("raised_by"), to_attr="open_tickets")
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


def open_tickets_about(appointment: ServiceAppointment) -> list[FinanceTicket]:
    """The open tickets about one session, oldest first (Finance's "Complete wrap-up" page). One query."""
    return list(open_tickets().filter(appointment=appointment).select_related("raised_by"))


def finance_replies_for(user, *, since: datetime, limit: int) -> list[FinanceTicket]:
    """Tickets the user raised, or someone raised about the user's sessions, that Finance answered since `since`,
    newest first (the homepage, through sessions_app's hooks). One query."""
    return list(
        FinanceTicket.objects.filter(Q(raised_by=user) | Q(appointment__mentor__user=user), replied_at__isnull=False,
                                     replied_at__gte=since)
        .select_related("appointment", "replied_by", "raised_by")
        .order_by("-replied_at", "-pk")[:limit]
    )


def payment_statements_of(mentor: Mentor, *, limit: int) -> list[PaymentStatement]:
    """The mentor's issued payment statements (not drafts), newest first (the dashboard). One query."""
    return list(
        PaymentStatement.objects.filter(mentor=mentor).exclude(status=PaymentStatement.Status.DRAFT)
        .order_by("-period_start", "-issue_date", "-pk")[:limit]
    )


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def statement_moves_for(mentor: Mentor, appointments: list[ServiceAppointment], *, today: date | None = None
                        ) -> dict[int, StatementMove]:
    """Of the mentor's wrapped-up `appointments`, those whose own month's payment statement was issued without
    them: each with the statement that pays it, the later one it is on, or else the next one to be made (the
    month after the last statement issued, and not before this month). Sessions Finance's policy does not pay
    are left out. At most three queries (one when none of their months has an issued statement).

    sessions_app asks for this through `sessions_app.hooks.statement_moves`; InvoicingConfig.ready provides it."""
    months = {timezone.localdate(a.starts_at).replace(day=1) for a in appointments}
    issued = set(
        PaymentStatement.objects.filter(mentor=mentor, period_start__gte=min(months))
        .exclude(status=PaymentStatement.Status.DRAFT).values_list("period_start", flat=True)
    )
    candidates = [a.pk for a in appointments if timezone.localdate(a.starts_at).replace(day=1) in issued]
    if not candidates:
        return {}
    rows = ServiceAppointment.objects.filter(pk__in=candidates).values_list(
        "pk", "starts_at", "outcome", "funding_arrangement__funder_id", "statement_line__statement__period_start")
    today = today or timezone.localdate()
    next_statement = max(_month_after(max(issued)), today.replace(day=1))
    policy, moves = None, {}
    for pk, starts_at, outcome, funder_id, paid_in in rows:
        month = timezone.localdate(starts_at).replace(day=1)
        if paid_in == month:
            continue  # on its own month's statement
        if paid_in is not None:
            moves[pk] = StatementMove(month=month, statement_month=paid_in, on_it=True)
            continue
        policy = policy or Policy()
        if policy.paid(funder_id, outcome):
            moves[pk] = StatementMove(month=month, statement_month=next_statement, on_it=False)
    return moves
