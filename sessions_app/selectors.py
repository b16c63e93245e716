"""Everything the pages read. Each function returns what one part of a page shows, in a fixed number of queries."""

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber, TruncDate
from django.utils import timezone
from django.utils.formats import date_format

from mentoring.schedule import time_of_day
from sessions_app import hooks
from sessions_app.models import (
    AppointmentEvent,
    FundingArrangement,
    Mentee,
    Mentor,
    MentorAssignment,
    ServiceAppointment,
    User,
    WrapUpRequest,
    WrapUpRequestItem,
)
from sessions_app.models.appointments import appointment_url
from sessions_app.allowance import arrangements_to_renew, warning_threshold
from sessions_app.pay import StatementMove, session_pay, statement_moves

Status = ServiceAppointment.Status
HOMEPAGE_LIST_LIMIT = 50
UPCOMING_LIMIT = 10
CALENDAR_DAY_LIMIT = 6
OUTSTANDING_LIMIT = 50
FUNDING_TO_RENEW_LIMIT = 20
RECENT_DAYS = 30  # how far back the homepage shows Finance's replies and done wrap-up requests
FINANCE_REPLIES_LIMIT = 20
PAYMENT_STATEMENTS_LIMIT = 24  # two years of monthly statements on the dashboard


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    first = date(year, month, 1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_midnight(first), local_midnight(following)


def last_day_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def appointments_visible_to(user: User, *, mentor_id: int | None = None):
    """Mentors see their own appointments; Senior Leadership and Finance see everyone's."""
    appointments = ServiceAppointment.objects.all()
    if not user.sees_all_appointments:
        return appointments.filter(mentor__user=user)
    if mentor_id is not None:
        appointments = appointments.filter(mentor_id=mentor_id)
    return appointments


@dataclass
class Deadline:
    day: date
    days_left: int
    closes_at: time  # the time of day on `day` when the month-end job makes the invoices and payment statements
    passed: bool = False  # the deadline was today, and its time has gone by

    @property
    def is_today(self) -> bool:
        return self.days_left == 0


def wrap_up_deadline(today: date, *, now: datetime | None = None) -> Deadline:
    """Sessions must be wrapped up by the month-end job's time (mentoring/schedule.py) on the month's last day,
    when invoices and payment statements are generated. Given `now`, says whether that time has passed."""
    last = last_day_of_month(today)
    closes_at = time_of_day("month-end")
    passed = now is not None and last == today and timezone.localtime(now).time() >= closes_at
    return Deadline(day=last, days_left=(last - today).days, closes_at=closes_at, passed=passed)


@dataclass
class Homepage:
    to_wrap_up: list
    to_wrap_up_count: int
    deadline: Deadline
    today: list
    upcoming: list
    # A mentor's requests to Senior Leadership (open, or done in the last RECENT_DAYS days): RequestSummary rows.
    wrap_up_requests: list = field(default_factory=list)
    # Finance's replies, in the last RECENT_DAYS days, to tickets the user raised or tickets about their sessions.
    finance_replies: list = field(default_factory=list)
    # For Senior Leadership (and Finance): mentors' open wrap-up requests, oldest first.
    requests_from_mentors: list = field(default_factory=list)


def homepage_for(user: User, *, now: datetime | None = None) -> Homepage:
    now = now or timezone.now()
    today = timezone.localdate(now)
    # Each row says whether its mentee's page opens for the user (a link on the name), in the same query.
    visible = appointments_visible_to(user).annotate(mentee_linked=mentee_linked(user))
    # The oldest sessions and how many there are in all, in one query however many there are: the count is a
    # subquery PostgreSQL runs once from the index, and the list stops at the limit.
    outstanding = visible.to_wrap_up(now)
    oldest = list(outstanding.annotate(in_all=Subquery(_count_of(outstanding))).order_by("starts_at", "pk")
                  .values_list(*SessionRow.FIELDS, "in_all")[:HOMEPAGE_LIST_LIMIT])
    tomorrow = local_midnight(today + timedelta(days=1))
    return Homepage(
        to_wrap_up=SessionRow.read([values[:-1] for values in oldest]),
        to_wrap_up_count=oldest[0][-1] if oldest else 0,
        deadline=wrap_up_deadline(today, now=now),
        today=SessionRow.read(visible.between(local_midnight(today), tomorrow).order_by("starts_at", "pk")
                              .values_list(*SessionRow.FIELDS)[:HOMEPAGE_LIST_LIMIT]),
        upcoming=SessionRow.read(visible.filter(starts_at__gte=tomorrow).order_by("starts_at", "pk")
                                 .values_list(*SessionRow.FIELDS)[:UPCOMING_LIMIT]),
        wrap_up_requests=[] if user.sees_all_appointments else wrap_up_requests_of(user, now=now),
        finance_replies=finance_replies_for(user, now=now),
        requests_from_mentors=open_wrap_up_requests() if user.acts_for_mentors else [],
    )


def _count_of(queryset):
    """COUNT(*) of a queryset as a one-row subquery (no GROUP BY)."""
    return queryset.order_by().annotate(
        n=Func(function="COUNT", template="COUNT(*)", output_field=IntegerField())
    ).values("n")


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    is_today: bool
    appointments: list = field(default_factory=list)
    hidden: int = 0


@dataclass
class CalendarEntry:
    """A session as a calendar cell shows it: read as plain values, since a busy month shows hundreds."""

    reference: str
    starts_at: datetime  # local time
    status: str
    mentee_name: str
    mentor_name: str

    FIELDS = ("reference", "starts_at", "status", "mentee__full_name", "mentor__user__full_name")

    def get_absolute_url(self) -> str:
        return appointment_url(self.reference)

    def get_status_display(self) -> str:
        return Status(self.status).label

    @property
    def time(self) -> str:
        return self.starts_at.strftime("%H:%M")


@dataclass
class SessionRow(CalendarEntry):
    """A session in the homepage's lists and on a mentee's page: a calendar entry with its end and its mentee, read
    as plain values (a list of Senior Leadership's holds 50). `mentee_linked`: the mentee's page opens for the
    reader (the queryset is annotated with `mentee_linked(user)`)."""

    ends_at: datetime  # local time
    mentee_id: int
    mentee_linked: bool

    FIELDS = (*CalendarEntry.FIELDS, "ends_at", "mentee_id", "mentee_linked")

    @classmethod
    def read(cls, rows) -> list["SessionRow"]:
        """From values_list(*FIELDS) rows."""
        local = timezone.localtime
        return [cls(reference, local(starts_at), status, mentee_name, mentor_name, local(ends_at), mentee_id,
                    bool(linked))
                for reference, starts_at, status, mentee_name, mentor_name, ends_at, mentee_id, linked in rows]


def mentee_linked(user: User):
    """An annotation for a user's sessions: does the session's mentee's page open for them? Senior Leadership and
    Finance: always; a mentor (who sees only their own sessions): when the mentee is assigned to them."""
    if user.sees_all_appointments:
        return Value(True)
    return Exists(MentorAssignment.objects.filter(mentor_id=OuterRef("mentor_id"), mentee_id=OuterRef("mentee_id"),
                                                  mentor__is_active=True))


@dataclass
class CalendarMonth:
    first: date
    weeks: list
    previous: date
    next: date
    total: int


def calendar_month(user: User, year: int, month: int, *, mentor_id: int | None = None, today: date | None = None):
    """A Monday-first grid of the month's weeks, each day holding its sessions."""
    today = today or timezone.localdate()
    first = date(year, month, 1)
    last = last_day_of_month(first)
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    days = {}
    cursor = grid_start
    while cursor <= grid_end:
        days[cursor] = CalendarDay(day=cursor, in_month=cursor.month == month, is_today=cursor == today)
        cursor += timedelta(days=1)
    scope = appointments_visible_to(user, mentor_id=mentor_id).between(
        local_midnight(grid_start), local_midnight(grid_end + timedelta(days=1))
    )
    # However busy the organisation, each day fetches at most CALENDAR_DAY_LIMIT sessions and counts the rest.
    shown, per_day = _first_of_each_day(scope, grid_start, grid_end)
    for reference, starts_at, status, mentee_name, mentor_name in shown:
        local = timezone.localtime(starts_at)
        days[local.date()].appointments.append(CalendarEntry(reference, local, status, mentee_name, mentor_name))
    total = 0
    for day, count in per_day.items():
        cell = days[day]
        cell.hidden = count - len(cell.appointments)
        total += count if cell.in_month else 0
    ordered = list(days.values())
    return CalendarMonth(
        first=first,
        weeks=[ordered[i : i + 7] for i in range(0, len(ordered), 7)],
        previous=(first - timedelta(days=1)).replace(day=1),
        next=last + timedelta(days=1),
        total=total,
    )


def _first_of_each_day(scope, grid_start: date, grid_end: date) -> tuple[list[tuple], dict[date, int]]:
    """Each day's first CALENDAR_DAY_LIMIT sessions in `scope` as (reference, starts_at, status, mentee's name,
    mentor's name), in order, and how many sessions each day has.

    On PostgreSQL, in one query: per day, a count and a LIMITed range scan of the index on starts_at (LATERAL),
    which reads a few rows per day however many sessions the organisation has; only those rows look up their
    names. Elsewhere (SQLite), a count by day, a window ranking every session of the grid's weeks, then the rows.
    """
    if connection.vendor == "postgresql":
        return _first_of_each_day_in_sql(scope, grid_start, grid_end)
    return _first_of_each_day_by_orm(scope, grid_start, grid_end)


def _first_of_each_day_by_orm(scope, grid_start: date, grid_end: date) -> tuple[list[tuple], dict[date, int]]:
    """_first_of_each_day on any database (SQLite's path; tests run it on PostgreSQL too, against the SQL one)."""
    local_day = TruncDate("starts_at", tzinfo=timezone.get_current_timezone())
    per_day = dict(scope.annotate(day=local_day).order_by().values_list("day").annotate(n=Count("*")))
    ids = list(scope.annotate(rank=Window(RowNumber(), partition_by=[local_day],
                                          order_by=[F("starts_at"), F("pk")]))
               .filter(rank__lte=CALENDAR_DAY_LIMIT).values_list("pk", flat=True))
    return list(scope.filter(pk__in=ids).order_by("starts_at", "pk").values_list(*CalendarEntry.FIELDS)), per_day


def _first_of_each_day_in_sql(scope, grid_start: date, grid_end: date) -> tuple[list[tuple], dict[date, int]]:
    """_first_of_each_day on PostgreSQL, in one query."""
    # PostgreSQL pulls the plain subquery up into each LATERAL, so the day's bounds reach the index on starts_at.
    # The days are a list (not generate_series) so that the planner knows there are about 42 of them.
    count_sql, count_params = scope.order_by().values("pk", "starts_at").query.sql_with_params()
    rows_sql, rows_params = (scope.order_by().values("pk", "starts_at", "reference", "status", "mentee_id", "mentor_id")
                             .query.sql_with_params())
    # A day runs from its local midnight to the next: each a timestamp *without* time zone, read AT TIME ZONE as
    # local time. (A bare date would first become midnight UTC, which AT TIME ZONE then turns into local time:
    # 01:00 on a summer day, compared as if it were UTC, which lost the sessions before 02:00 BST.)
    in_day = ("scope.starts_at >= (grid.day::timestamp AT TIME ZONE %s) "
              "AND scope.starts_at < ((grid.day + 1)::timestamp AT TIME ZONE %s)")
    quote = connection.ops.quote_name
    mentee, mentor, user = (quote(model._meta.db_table) for model in (Mentee, Mentor, User))
    # The names are looked up per row shown (a join here is planned as a scan of every mentor for each day).
    sql = (
        "SELECT grid.day::date, counted.n, shown.reference, shown.starts_at, shown.status, "
        f"(SELECT mentee.full_name FROM {mentee} AS mentee WHERE mentee.id = shown.mentee_id), "
        f"(SELECT mentor_user.full_name FROM {mentor} AS mentor JOIN {user} AS mentor_user "
        "ON mentor_user.id = mentor.user_id WHERE mentor.id = shown.mentor_id) "
        "FROM unnest(%s::date[]) AS grid(day) "
        f"CROSS JOIN LATERAL (SELECT COUNT(*) AS n FROM ({count_sql}) AS scope WHERE {in_day}) AS counted "
        f"LEFT JOIN LATERAL (SELECT * FROM ({rows_sql}) AS scope WHERE {in_day} "
        "ORDER BY scope.starts_at, scope.pk LIMIT %s) AS shown ON true "
        "WHERE counted.n > 0 ORDER BY shown.starts_at, shown.pk"
    )
    zone = timezone.get_current_timezone_name()
    with connection.cursor() as cursor:
        days = [grid_start + timedelta(days=n) for n in range((grid_end - grid_start).days + 1)]
        cursor.execute(sql, (days, *count_params, zone, zone, *rows_params, zone, zone, CALENDAR_DAY_LIMIT))
        rows = cursor.fetchall()
    return [row[2:] for row in rows if row[2] is not None], {day: n for day, n, *_ in rows}


@dataclass
class StatusCount:
    status: str
    label: str
    count: int


@dataclass
class MentorMonth:
    mentor: Mentor
    appointments: list
    booked_hours: Decimal
    wrapped_up_hours: Decimal
    pay: Decimal
    awaiting_finance: int
    # Of `pay`, what a later payment statement pays: sessions wrapped up after this month's statement was issued.
    moved_pay: Decimal = Decimal("0.00")
    moved_from: date | None = None  # this month, when some sessions moved


@dataclass
class MentorOutstanding:
    mentor: Mentor
    outstanding: int
    oldest: datetime
    open_request_since: datetime | None = None  # when the mentor asked Senior Leadership to wrap up for them


@dataclass
class Dashboard:
    first: date
    previous: date
    next: date
    by_status: list
    total: int
    mentor_month: MentorMonth | None
    mentors_outstanding: list | None
    mentors_outstanding_total: int = 0
    # A mentor's own issued payment statements, newest first (empty for everyone else).
    payment_statements: list = field(default_factory=list)
    # Senior Leadership's funding arrangements to renew: authorised hours nearly used up, or ending within 30 days
    # (sessions_app.allowance.ToRenew, the soonest to end first; at most FUNDING_TO_RENEW_LIMIT), and how many in all.
    funding_to_renew: list = field(default_factory=list)
    funding_to_renew_total: int = 0
    renew_threshold: Decimal | None = None  # AUTHORISED_HOURS_WARNING: "nearly used up" is fewer hours left


def _hours(minutes: int) -> Decimal:
    return (Decimal(minutes) / Decimal(60)).quantize(Decimal("0.01"))


def mentor_month(mentor: Mentor, start: datetime, end: datetime) -> MentorMonth:
    appointments = list(
        mentor.appointments.select_related("mentee").between(start, end).order_by("starts_at")
    )
    moves = statement_moves(mentor, appointments)
    for appointment in appointments:
        appointment.mentor = mentor
        appointment.pay = session_pay(appointment, mentor.hourly_pay_rate)
        appointment.statement_move = moves.get(appointment.pk)
    live = [a for a in appointments if a.status != Status.CANCELLED]
    wrapped = [a for a in appointments if a.status == Status.COMPLETED]
    moved = [a for a in appointments if a.statement_move]
    return MentorMonth(
        mentor=mentor,
        appointments=appointments,
        booked_hours=_hours(sum(a.booked_minutes for a in live)),
        wrapped_up_hours=_hours(sum(a.minutes for a in wrapped)),
        pay=sum((a.pay for a in appointments), Decimal("0.00")),
        awaiting_finance=sum(a.status == Status.AWAITING_FINANCE for a in appointments),
        moved_pay=sum((a.pay for a in moved), Decimal("0.00")),
        moved_from=moved[0].statement_move.month if moved else None,
    )


def statement_move_of(appointment: ServiceAppointment) -> StatementMove | None:
    """For a wrapped-up session: the later payment statement that pays it, when its month's was issued before it
    was wrapped up (None otherwise, and for any other session, without a query)."""
    return statement_moves(appointment.mentor, [appointment]).get(appointment.pk)


class GroupsInAll(Func):
    """COUNT(*) OVER (): in a grouped query, how many groups there are before LIMIT, in the same query."""

    template = "COUNT(*) OVER ()"
    output_field = IntegerField()
    contains_over_clause = True

    def get_group_by_cols(self):
        return []


def mentors_with_sessions_to_wrap_up(*, now: datetime | None = None, limit: int = OUTSTANDING_LIMIT):
    """The mentors waiting longest with sessions to wrap up (at most `limit`), and how many mentors in all."""
    now = now or timezone.now()
    # From the outstanding sessions (few, and indexed by status and start), not from every mentor's history.
    by_mentor = (
        ServiceAppointment.objects.to_wrap_up(now).order_by().values("mentor_id")
        .annotate(n=Count("*"), oldest=Min("starts_at"))
    )
    rows = list(by_mentor.annotate(mentors=GroupsInAll()).order_by("oldest", "mentor_id")
                .values_list("mentor_id", "n", "oldest", "mentors")[:limit])
    if not rows:
        return [], 0
    outstanding = {m: (n, oldest) for m, n, oldest, _ in rows}
    total = rows[0][3]
    open_request = WrapUpRequest.objects.filter(mentor=OuterRef("pk"), status=WrapUpRequest.Status.OPEN)
    mentors = (
        Mentor.objects.select_related("user").filter(pk__in=list(outstanding))
        .annotate(open_request_since=Subquery(open_request.values("created_at")[:1]))
    )
    rows = [
        MentorOutstanding(mentor=m, outstanding=outstanding[m.pk][0], oldest=outstanding[m.pk][1],
                          open_request_since=m.open_request_since)
        for m in mentors
    ]
    return sorted(rows, key=lambda row: (row.oldest, row.mentor.pk)), total


def dashboard_for(user: User, year: int, month: int, *, mentor_id: int | None = None, now=None) -> Dashboard:
    start, end = month_bounds(year, month)
    scope = appointments_visible_to(user, mentor_id=mentor_id).between(start, end)
    # A session Senior Leadership recorded as Cancelled (it did not take place) counts as cancelled, not completed.
    tile = Case(When(outcome=ServiceAppointment.Outcome.CANCELLED, then=Value(Status.CANCELLED)),
                default=F("status"), output_field=CharField())
    counts = dict(scope.order_by().annotate(tile=tile).values_list("tile").annotate(n=Count("*")))
    by_status = [StatusCount(value, label, counts.get(value, 0)) for value, label in Status.choices]

    mentor = None
    if user.sees_all_appointments:
        if mentor_id is not None:
            mentor = Mentor.objects.select_related("user").filter(pk=mentor_id).first()
    else:
        mentor = Mentor.objects.select_related("user").filter(user=user).first()

    outstanding, outstanding_total = (
        mentors_with_sessions_to_wrap_up(now=now) if user.sees_all_appointments else (None, 0)
    )
    first = start.date() if timezone.is_naive(start) else timezone.localdate(start)
    to_renew = arrangements_to_renew() if user.sees_all_appointments else []
    return Dashboard(
        first=first,
        previous=(first - timedelta(days=1)).replace(day=1),
        next=timezone.localdate(end),
        by_status=by_status,
        total=sum(counts.values()),
        mentor_month=mentor_month(mentor, start, end) if mentor else None,
        mentors_outstanding=outstanding,
        mentors_outstanding_total=outstanding_total,
        payment_statements=payment_statements_of(mentor) if mentor and mentor.user_id == user.pk else [],
        funding_to_renew=to_renew[:FUNDING_TO_RENEW_LIMIT],
        funding_to_renew_total=len(to_renew),
        renew_threshold=warning_threshold() if user.sees_all_appointments else None,
    )


def payment_statements_of(mentor: Mentor, *, limit: int = PAYMENT_STATEMENTS_LIMIT) -> list:
    """The mentor's issued payment statements (not drafts), newest first. One query (invoicing's, hooks.py)."""
    return hooks.payment_statements_of(mentor, limit=limit)


def appointments_awaiting_finance():
    """Sessions wrapped up with information missing, the longest waiting first."""
    return (
        ServiceAppointment.objects.filter(status=Status.AWAITING_FINANCE)
        .select_related("mentor__user", "mentee", "wrapped_up_by")
        .order_by("wrapped_up_at", "starts_at", "pk")
    )


def appointments_awaiting_finance_for(mentee: Mentee) -> list[ServiceAppointment]:
    """The mentee's sessions waiting for Finance to add their funding (on the mentee's admin page)."""
    return list(appointments_awaiting_finance().filter(mentee=mentee))


def finance_completion(appointment: ServiceAppointment) -> AppointmentEvent | None:
    """The event recording that Finance completed this session's wrap-up, if it has."""
    return (
        appointment.events.filter(kind=AppointmentEvent.Kind.COMPLETED_BY_FINANCE)
        .select_related("actor")
        .order_by("-occurred_at", "-pk")
        .first()
    )


def appointment_history(appointment: ServiceAppointment) -> list[AppointmentEvent]:
    return list(appointment.events.select_related("actor", "on_behalf_of"))


def mentors_for_filter(user: User) -> list[tuple[int, str]]:
    """(id, name) of every mentor, by name, for Senior Leadership's and Finance's mentor filter."""
    if not user.sees_all_appointments:
        return []
    return list(Mentor.objects.order_by("user__full_name", "pk").values_list("pk", "user__full_name"))


def appointments_for_feed(mentor: Mentor, *, days_back: int, days_ahead: int, now=None):
    now = now or timezone.now()
    return (
        mentor.appointments.select_related("mentee")
        .filter(starts_at__gte=now - timedelta(days=days_back), starts_at__lt=now + timedelta(days=days_ahead))
        .order_by("starts_at")
    )


def funding_options(appointment: ServiceAppointment) -> list[FundingArrangement]:
    """The mentee's funding arrangements valid on the session's date: the choices at wrap-up."""
    day = timezone.localdate(appointment.starts_at)
    return list(
        FundingArrangement.objects.filter(mentee_id=appointment.mentee_id)
        .valid_on(day)
        .select_related("funder")
        .order_by("kind", "funder__name", "valid_from")
    )


# ---- Finance's replies on the homepage ----

def finance_replies_for(user: User, *, now: datetime | None = None, days: int = RECENT_DAYS) -> list:
    """Tickets the user raised, or someone raised about the user's sessions, that Finance answered in the last `days`
    days, newest first. One query (invoicing's, hooks.py)."""
    now = now or timezone.now()
    return hooks.finance_replies_for(user, since=now - timedelta(days=days), limit=FINANCE_REPLIES_LIMIT)


# ---- Wrap-up requests: a mentor who cannot wrap up tells Senior Leadership what happened ----

@dataclass
class RequestSummary:
    request: WrapUpRequest
    items: list  # WrapUpRequestItem, each with its appointment

    @property
    def is_open(self) -> bool:
        return self.request.status == WrapUpRequest.Status.OPEN


def wrap_up_requests_of(user: User, *, now: datetime | None = None, days: int = RECENT_DAYS) -> list[RequestSummary]:
    """The mentor's open request and those done in the last `days` days, newest first, in one query."""
    now = now or timezone.now()
    recent = Q(request__status=WrapUpRequest.Status.OPEN) | Q(request__done_at__gte=now - timedelta(days=days))
    items = (
        WrapUpRequestItem.objects.filter(recent, request__mentor__user=user)
        .select_related("request__done_by", "appointment")
        .order_by("-request__created_at", "-request_id", "appointment__starts_at")
    )
    summaries: dict[int, RequestSummary] = {}
    for item in items:
        summary = summaries.setdefault(item.request_id, RequestSummary(request=item.request, items=[]))
        summary.items.append(item)
    return list(summaries.values())


def open_wrap_up_requests(*, limit: int = OUTSTANDING_LIMIT) -> list[WrapUpRequest]:
    """Mentors' requests still waiting for Senior Leadership, oldest first, each with how many sessions it names
    (`sessions`). One query."""
    return list(
        WrapUpRequest.objects.filter(status=WrapUpRequest.Status.OPEN).select_related("mentor__user")
        .annotate(sessions=Count("items")).order_by("created_at", "pk")[:limit]
    )


@dataclass(frozen=True)
class FundingDecision:
    """Whether the funding of a session can be decided without asking anyone: exactly one option is valid."""

    arrangement: FundingArrangement | None
    problem: str = ""  # why it could not be decided, e.g. "no funding arrangement on 3 March 2026"

    @property
    def decided(self) -> bool:
        return self.arrangement is not None


def funding_decision(appointment: ServiceAppointment, options: list[FundingArrangement]) -> FundingDecision:
    if len(options) == 1:
        return FundingDecision(arrangement=options[0])
    day = date_format(timezone.localdate(appointment.starts_at), "j F Y")
    if not options:
        return FundingDecision(arrangement=None, problem=f"no funding arrangement on {day}")
    return FundingDecision(arrangement=None, problem=f"{len(options)} arrangements on {day}")


_REQUEST_ITEMS = WrapUpRequestItem.objects.select_related("appointment", "cancellation_reason")


@dataclass
class WrapUpRow:
    appointment: ServiceAppointment
    funding: FundingDecision
    requested_outcome: str = ""  # what the mentor said happened, from their open request
    requested: "WrapUpRequestItem | None" = None


@dataclass
class MentorWrapUpList:
    mentor: Mentor
    rows: list
    open_request: WrapUpRequest | None
    request_items: list

    @property
    def request_outstanding(self) -> int:
        """Sessions in the open request still not wrapped up."""
        return sum(item.appointment.status == Status.SCHEDULED for item in self.request_items)


def mentor_wrap_up_list(mentor: Mentor, *, now: datetime | None = None) -> MentorWrapUpList:
    """Senior Leadership's page for one mentor: the sessions to wrap up, oldest first, what funding each would get,
    and the mentor's open request. A fixed number of queries however many sessions there are."""
    now = now or timezone.now()
    appointments = list(
        mentor.appointments.to_wrap_up(now).select_related("mentee").order_by("starts_at", "pk")
    )
    for appointment in appointments:
        appointment.mentor = mentor
    arrangements: dict[int, list] = {}
    if appointments:
        for arrangement in (
            FundingArrangement.objects.filter(mentee_id__in={a.mentee_id for a in appointments})
            .select_related("funder")
            .order_by("kind", "funder__name", "valid_from")
        ):
            arrangements.setdefault(arrangement.mentee_id, []).append(arrangement)

    open_request = (
        WrapUpRequest.objects.filter(mentor=mentor, status=WrapUpRequest.Status.OPEN)
        .prefetch_related(Prefetch("items", queryset=_REQUEST_ITEMS))
        .first()
    )
    items = list(open_request.items.all()) if open_request else []
    requested = {item.appointment_id: item for item in items}

    rows = []
    for appointment in appointments:
        day = timezone.localdate(appointment.starts_at)
        options = [a for a in arrangements.get(appointment.mentee_id, []) if a.is_valid_on(day)]
        rows.append(WrapUpRow(
            appointment=appointment,
            funding=funding_decision(appointment, options),
            requested_outcome=requested[appointment.pk].outcome if appointment.pk in requested else "",
            requested=requested.get(appointment.pk),
        ))
    return MentorWrapUpList(mentor=mentor, rows=rows, open_request=open_request, request_items=items)


def mentor_sessions_to_wrap_up(mentor: Mentor, *, now: datetime | None = None) -> list[ServiceAppointment]:
    """The mentor's own sessions to wrap up, oldest first (the page where they ask Senior Leadership for help)."""
    appointments = list(mentor.appointments.to_wrap_up(now).select_related("mentee").order_by("starts_at", "pk"))
    for appointment in appointments:
        appointment.mentor = mentor
    return appointments


def open_wrap_up_request(mentor: Mentor) -> RequestSummary | None:
    request = (
        WrapUpRequest.objects.filter(mentor=mentor, status=WrapUpRequest.Status.OPEN)
        .prefetch_related(Prefetch("items", queryset=_REQUEST_ITEMS))
        .first()
    )
    return RequestSummary(request=request, items=list(request.items.all())) if request else None
