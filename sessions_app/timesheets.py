"""Timesheets: every wrapped-up session of a funded arrangement in one month, the evidence a funder asks for with
its invoice (issue 18). Plain session reads, so they live with the sessions; invoicing renders them to PDF.

`timesheet(arrangement_id=..., month=...)` is two queries however many sessions: the arrangement (with its funder
and mentee), and its sessions in the month (with their mentors). Times are Europe/London.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models.functions import TruncMonth
from django.utils import timezone

from sessions_app.models import FundingArrangement, ServiceAppointment, SessionSignOff
from sessions_app.selectors import month_bounds

Status = ServiceAppointment.Status
WRAPPED_UP = (Status.COMPLETED, Status.AWAITING_FINANCE)


def confirmation_text(appointment: ServiceAppointment) -> str:
    """What the "Mentee's confirmation" column says for one session: when and how the mentee answered."""
    sign_off = getattr(appointment, "sign_off", None)
    if sign_off is None:
        return "Not asked"
    if sign_off.state == SessionSignOff.State.PENDING:
        return f"Waiting (asked {timezone.localtime(sign_off.requested_at):%-d %b %Y})"
    how = "by email link" if sign_off.how == SessionSignOff.How.LINK else "on paper"
    state = "Confirmed" if sign_off.state == SessionSignOff.State.CONFIRMED else "Disputed"
    return f"{state} {timezone.localtime(sign_off.answered_at):%-d %b %Y}, {how}"


@dataclass(frozen=True)
class TimesheetRow:
    reference: str
    starts: datetime  # local (Europe/London)
    ends: datetime  # local: the start plus the time the session counts for (actual, or booked until recorded)
    minutes: int
    outcome: str  # in words: "Attended", "Did not attend", ...
    mentor: str
    confirmation: str

    @property
    def day(self) -> date:
        return self.starts.date()

    @property
    def times(self) -> str:
        """"10:00–11:00"; where the clocks change during the session, or a time happens twice (the October change),
        each end says which: "01:30 BST–01:30 GMT"."""
        start, end = f"{self.starts:%H:%M}", f"{self.ends:%H:%M}"
        if self.starts.utcoffset() != self.ends.utcoffset() or _ambiguous(self.starts) or _ambiguous(self.ends):
            start, end = f"{start} {self.starts.tzname()}", f"{end} {self.ends.tzname()}"
        return f"{start}–{end}"


def _ambiguous(moment: datetime) -> bool:
    """A local time the clocks show twice (01:00–02:00 on the last Sunday of October)."""
    return moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset()


@dataclass(frozen=True)
class OutcomeTotal:
    outcome: str
    sessions: int
    minutes: int


@dataclass(frozen=True)
class Timesheet:
    arrangement: FundingArrangement  # with funder and mentee
    month: date  # its first day
    rows: list[TimesheetRow]

    @property
    def total_minutes(self) -> int:
        return sum(row.minutes for row in self.rows)

    @property
    def by_outcome(self) -> list[OutcomeTotal]:
        """Sessions and time per outcome, in the order the outcomes are listed."""
        totals = []
        for _, label in ServiceAppointment.Outcome.choices:
            rows = [row for row in self.rows if row.outcome == label]
            if rows:
                totals.append(OutcomeTotal(label, len(rows), sum(row.minutes for row in rows)))
        return totals


def _row(appointment: ServiceAppointment) -> TimesheetRow:
    minutes = appointment.minutes
    return TimesheetRow(
        reference=appointment.reference,
        starts=timezone.localtime(appointment.starts_at),
        ends=timezone.localtime(appointment.starts_at + timedelta(minutes=minutes)),  # real minutes, in UTC
        minutes=minutes,
        outcome=appointment.get_outcome_display(),
        mentor=appointment.mentor.user.full_name,
        confirmation=confirmation_text(appointment),
    )


def timesheet_sessions(arrangement_id: int, month: date):
    """The arrangement's wrapped-up sessions that started in the month (London time), in order."""
    start, end = month_bounds(month.year, month.month)
    return (ServiceAppointment.objects.filter(funding_arrangement_id=arrangement_id, status__in=WRAPPED_UP)
            .between(start, end).select_related("mentor__user", "sign_off").order_by("starts_at", "reference"))


def timesheet(*, arrangement_id: int, month: date) -> Timesheet | None:
    """The timesheet of a funded arrangement for the month `month` falls in; None for no such funded arrangement.
    Two queries."""
    arrangement = (FundingArrangement.objects.select_related("funder", "mentee")
                   .filter(pk=arrangement_id, kind=FundingArrangement.Kind.FUNDED).first())
    if arrangement is None:
        return None
    first = month.replace(day=1)
    return Timesheet(arrangement=arrangement, month=first,
                     rows=[_row(appointment) for appointment in timesheet_sessions(arrangement_id, first)])


def timesheet_months(arrangement: FundingArrangement) -> list[date]:
    """The months (their first days, London time) in which a funded arrangement has wrapped-up sessions, newest
    first. One query; none for a self-funded arrangement."""
    if arrangement.kind != FundingArrangement.Kind.FUNDED:
        return []
    months = (ServiceAppointment.objects.filter(funding_arrangement=arrangement, status__in=WRAPPED_UP)
              .annotate(month=TruncMonth("starts_at", tzinfo=timezone.get_current_timezone()))
              .values_list("month", flat=True).distinct().order_by("-month"))
    return [_as_date(month) for month in months]


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value
