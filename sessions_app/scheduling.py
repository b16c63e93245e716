"""Scheduling rules that only read (issue 17): Europe/London wall-clock times, repeats with dateutil's rrule
(RFC 5545), clashes, who may book with whom, and the funding arrangement that applies on a day.

The services in sessions_app/services/booking.py and series.py write; this module never does.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from dateutil.rrule import WEEKLY, rrule
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app import roles
from sessions_app.allowance import arrangements_with_hours
from sessions_app.models import FundingArrangement, Mentee, Mentor, MentorAssignment, ServiceAppointment

LONDON = ZoneInfo(settings.TIME_ZONE)
MIN_MINUTES, MAX_MINUTES = 15, 8 * 60
MAX_SERIES_SESSIONS = 104  # two years of weekly sessions
MAX_WEEKS_AHEAD = 2 * 52  # nothing is booked more than two years ahead
Mode = ServiceAppointment.Mode


class BookingProblem(ValueError):
    """A booking that cannot be made as asked. `field` names the form field the message belongs to (or None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class SessionClash(BookingProblem):
    """The mentor or the mentee already has a session then. `clashes` are those sessions."""

    def __init__(self, message: str, clashes: list[ServiceAppointment]):
        super().__init__(message, field=None)
        self.clashes = clashes


# --------------------------------------------------------------------------- time


def local_start(day: date, at: time) -> datetime:
    """The aware moment a session starting at `at` on `day` (Europe/London wall clock) starts. A time the clocks
    skip (01:30 on the last Sunday of March) does not exist; a time they pass twice means the first (BST)."""
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    aware = naive.replace(tzinfo=LONDON)
    if aware.astimezone(dt_timezone.utc).astimezone(LONDON).replace(tzinfo=None) != naive:
        raise BookingProblem(
            f"{at:%H:%M} does not exist on {date_format(day, 'j F Y')}: the clocks go forward an hour that night. "
            "Choose another time.", field="start_time")
    return aware


def when(moment: datetime) -> str:
    local = timezone.localtime(moment)
    return f"{date_format(local, 'l j F Y')} at {local:%H:%M}"


def span(starts_at: datetime, ends_at: datetime) -> str:
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    return f"{date_format(start, 'l j F Y')}, {start:%H:%M}–{end:%H:%M}"


def real_end(starts_at: datetime, minutes: int) -> datetime:
    """The end `minutes` of real time after the start (a session over the clock change still lasts its length)."""
    return (starts_at.astimezone(dt_timezone.utc) + timedelta(minutes=minutes)).astimezone(LONDON)


def check_minutes(minutes) -> int:
    if minutes is None or isinstance(minutes, bool) or not isinstance(minutes, int):
        raise BookingProblem("Enter the session's length in minutes.", field="booked_minutes")
    if minutes < MIN_MINUTES:
        raise BookingProblem(f"A session lasts at least {MIN_MINUTES} minutes.", field="booked_minutes")
    if minutes > MAX_MINUTES:
        raise BookingProblem(f"A session lasts at most {MAX_MINUTES // 60} hours ({MAX_MINUTES} minutes).",
                             field="booked_minutes")
    return minutes


def check_future(starts_at: datetime, now: datetime) -> None:
    if starts_at <= now:
        raise BookingProblem(f"{when(starts_at)} is in the past: choose a time that has not come yet.",
                             field="date")
    if starts_at > now + timedelta(weeks=MAX_WEEKS_AHEAD):
        raise BookingProblem("Sessions can be booked up to two years ahead.", field="date")


def check_where(mode: str, location: str) -> str:
    location = (location or "").strip()
    if mode not in Mode.values:
        raise BookingProblem("Choose in person, online or phone.", field="mode")
    if any(ch in location for ch in "\r\n\x00") or len(location) > 255:
        raise BookingProblem("The location or meeting link is one line of at most 255 characters.", field="location")
    if mode == Mode.IN_PERSON and not location:
        raise BookingProblem("Say where an in-person session takes place.", field="location")
    if mode == Mode.ONLINE and not location.lower().startswith("https://"):
        raise BookingProblem("An online session needs its meeting link, starting https://.", field="location")
    return location


# --------------------------------------------------------------------------- repeats


@dataclass
class Repeat:
    interval_weeks: int
    until: date | None = None
    count: int | None = None


def occurrence_days(first: date, repeat: Repeat | None) -> list[date]:
    """The days of a repeat, by RFC 5545 rules (dateutil's rrule) on the local calendar: the time of day is
    applied to each day afterwards, so it stays the same wall-clock time across the clock changes. No repeat:
    the one day."""
    if repeat is None:
        return [first]
    if not 1 <= repeat.interval_weeks <= 52:
        raise BookingProblem("Repeat every 1 to 52 weeks.", field="interval_weeks")
    if (repeat.until is None) == (repeat.count is None):
        raise BookingProblem("Say either how many sessions, or the date the repeat ends.", field="count")
    if repeat.count is not None and not 2 <= repeat.count <= MAX_SERIES_SESSIONS:
        raise BookingProblem(f"A repeat has 2 to {MAX_SERIES_SESSIONS} sessions.", field="count")
    if repeat.until is not None and repeat.until <= first:
        raise BookingProblem("The repeat must end after its first session.", field="until")
    rule = rrule(WEEKLY, interval=repeat.interval_weeks, dtstart=datetime.combine(first, time()),
                 until=datetime.combine(repeat.until, time()) if repeat.until else None, count=repeat.count)
    days = [moment.date() for moment in rule[: MAX_SERIES_SESSIONS + 1]] if repeat.until else [
        moment.date() for moment in rule]
    if len(days) > MAX_SERIES_SESSIONS:
        raise BookingProblem(f"That repeat has more than {MAX_SERIES_SESSIONS} sessions: end it sooner.",
                             field="until")
    return days


# --------------------------------------------------------------------------- clashes


def clashes_for(*, mentor_id: int, mentee_id: int, slots: list[tuple[datetime, datetime]],
                exclude_ids=()) -> list[list[ServiceAppointment]]:
    """For each (start, end) slot, the sessions of the mentor or the mentee that overlap it (cancelled ones do
    not count). One query, however many slots, read through the (mentor, starts) and (mentee, starts) indexes."""
    if not slots:
        return []
    low, high = min(start for start, _ in slots), max(end for _, end in slots)
    others = list(
        ServiceAppointment.objects.filter(Q(mentor_id=mentor_id) | Q(mentee_id=mentee_id),
                                          starts_at__lt=high, ends_at__gt=low)
        .exclude(status=ServiceAppointment.Status.CANCELLED).exclude(pk__in=list(exclude_ids))
        .select_related("mentor__user", "mentee").order_by("starts_at")
    )
    return [[other for other in others if other.starts_at < end and other.ends_at > start] for start, end in slots]


def clash_message(clashes: list[ServiceAppointment], *, mentor_id: int) -> str:
    parts = []
    for other in clashes:
        whose = (f"{other.mentor.name} already has {other.reference}" if other.mentor_id == mentor_id
                 else f"{other.mentee.full_name} already has {other.reference} with {other.mentor.name}")
        parts.append(f"{whose} ({span(other.starts_at, other.ends_at)})")
    return "This clashes with another session: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------- who with whom


def may_book_for_anyone(user) -> bool:
    return user.has_perm(roles.BOOK_FOR_ANY_MENTOR)


def may_override_clash(user) -> bool:
    return user.has_perm(roles.BOOK_OVER_CLASH)


def mentor_of(user) -> Mentor | None:
    return Mentor.objects.filter(user=user, is_active=True).select_related("user").first()


def assigned_mentees(mentor: Mentor):
    return Mentee.objects.filter(assignments__mentor=mentor).order_by("full_name")


def bookable_mentees(user):
    """The mentees `user` may book: their assigned ones (a mentor), everyone (Senior Leadership, Finance)."""
    if may_book_for_anyone(user):
        return Mentee.objects.order_by("full_name")
    mentor = mentor_of(user)
    return assigned_mentees(mentor) if mentor else Mentee.objects.none()


def bookable_mentors(user):
    if may_book_for_anyone(user):
        return Mentor.objects.filter(is_active=True, user__is_active=True).select_related("user")
    return Mentor.objects.filter(user=user, is_active=True).select_related("user")


def check_may_book(user, mentor: Mentor, mentee: Mentee) -> None:
    if may_book_for_anyone(user):
        if not mentor.is_active:
            raise BookingProblem(f"{mentor.name} is no longer an active mentor.", field="mentor")
        return
    if mentor.user_id != user.pk:
        raise BookingProblem("You can only book your own sessions.", field="mentor")
    if not MentorAssignment.objects.filter(mentor=mentor, mentee=mentee).exists():
        raise BookingProblem(f"{mentee.full_name} is not one of your mentees. Senior Leadership or Finance can "
                             "assign them to you.", field="mentee")


def may_change(user, appointment: ServiceAppointment) -> bool:
    return appointment.mentor.user_id == user.pk or may_book_for_anyone(user)


# --------------------------------------------------------------------------- funding at booking


@dataclass
class FundingNote:
    arrangement: FundingArrangement | None
    warnings: list[str] = field(default_factory=list)


# Other checks add warnings here: each is called with (mentee, days, minutes) and returns a list of messages.
FUNDING_WARNING_HOOKS: list = []


def funding_at_booking(mentee: Mentee, days: list[date], minutes: int, *, already_booked: bool = False) -> FundingNote:
    """The funding arrangement that applies on the (first) day, and warnings: none applies, it ends before some
    sessions of a series, or this booking (a whole series counted) takes it past its authorised hours. A warning,
    never a refusal. `already_booked`: the sessions are saved (the confirmation after booking), so the hours booked
    already include them."""
    if not days:
        return FundingNote(None)
    arrangements = list(FundingArrangement.objects.filter(mentee=mentee).select_related("funder").order_by("valid_from"))
    first = days[0]
    valid = [a for a in arrangements if a.is_valid_on(first)]
    warnings = []
    arrangement = valid[0] if len(valid) == 1 else None
    if not valid:
        ended = [a for a in arrangements if a.valid_until and a.valid_until < first]
        if ended:
            last = ended[-1]
            warnings.append(f"{last.label} ended on {date_format(last.valid_until, 'j F Y')}: no funding arrangement "
                            f"covers {date_format(first, 'j F Y')}. Finance will need to add one.")
        else:
            warnings.append(f"No funding arrangement covers {date_format(first, 'j F Y')}. Finance will need to add one.")
    elif len(valid) > 1:
        warnings.append("More than one funding arrangement applies on that date: "
                        + ", ".join(a.label for a in valid) + ". The mentor chooses at the wrap-up.")
    uncovered = [day for day in days[1:] if not any(a.is_valid_on(day) for a in arrangements)]
    if valid and uncovered:
        verb = "falls" if len(uncovered) == 1 else "fall"
        warnings.append(f"{len(uncovered)} of these sessions (from {date_format(uncovered[0], 'j F Y')}) {verb} after "
                        "the funding arrangement ends.")
    if arrangement is not None and arrangement.hours_allowance is not None:
        warnings.extend(_hours_warning(arrangement, [day for day in days if arrangement.is_valid_on(day)], minutes,
                                       already_booked=already_booked))
    for hook in FUNDING_WARNING_HOOKS:
        warnings.extend(hook(mentee, days, minutes))
    return FundingNote(arrangement, warnings)


def _hours_warning(arrangement: FundingArrangement, days: list[date], minutes: int, *, already_booked: bool) -> list:
    """The arrangement's authorised hours against what is used and booked (sessions_app/allowance.py) plus the
    sessions of this booking on its dates."""
    ((_, hours),) = arrangements_with_hours(FundingArrangement.objects.filter(pk=arrangement.pk))
    adding = (Decimal(minutes * len(days)) / Decimal(60)).quantize(Decimal("0.01"))
    before = hours.used + hours.booked - (adding if already_booked else 0)
    over = before + adding - hours.authorised
    if not days or over <= 0:
        return []
    what = "This session adds" if len(days) == 1 else f"These {len(days)} sessions add"
    return [f"{arrangement.label} has {hours.authorised.normalize():f} hours authorised and {before:.2f} already used "
            f"or booked. {what} {adding:.2f}, {over:.2f} over. You can still book; a session past the authorised "
            "hours goes to Finance when it is wrapped up."]
