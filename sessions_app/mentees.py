"""What the mentees' pages read (issue 17: a session is booked from a mentee's page): "My mentees" (a mentor's
assigned mentees; every active mentee for Senior Leadership and Finance) and one mentee's page.

Who may open a mentee: a mentor the mentees assigned to them (MentorAssignment, the same rule as booking), Senior
Leadership and Finance everyone. Anyone else gets "no such page", so a mentor cannot tell whether a mentee they are
not assigned to exists.

What a mentor sees of a mentee is what they need to meet them and book with them: the name, email and phone, and
which funding arrangement applies with its hours. Not the address, the funder's reference or rate, or anything
else on their record (many mentees are disabled students: special-category data).

Each function reads in a fixed number of queries, however many mentees or sessions there are.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from sessions_app.allowance import Hours, arrangements_with_hours
from sessions_app.models import FundingArrangement, Mentee, MentorAssignment, ServiceAppointment, User
from sessions_app.selectors import SessionRow, appointments_visible_to, mentee_linked

Status = ServiceAppointment.Status
MENTEES_PER_PAGE = 25
SESSIONS_PER_PAGE = 10
SEARCH_MAX_LENGTH = 150  # a mentee's name is at most 150 characters


def sees_every_mentee(user: User) -> bool:
    return user.sees_all_appointments


def mentees_visible_to(user: User) -> QuerySet:
    """The mentees `user` may open: everyone (Senior Leadership, Finance), the mentees assigned to them (an active
    mentor), no one (anyone else)."""
    if sees_every_mentee(user):
        return Mentee.objects.all()
    return Mentee.objects.filter(Exists(MentorAssignment.objects.filter(
        mentee_id=OuterRef("pk"), mentor__user=user, mentor__is_active=True)))


def may_open_mentee(user: User, mentee_id: int) -> bool:
    return sees_every_mentee(user) or mentees_visible_to(user).filter(pk=mentee_id).exists()


def page_of(paginator: Paginator, raw: str | None) -> Page:
    """The page asked for by ?page= (or ?upcoming=, ?past=): not a number (letters, "1.5", "-1", "١٢") gives the
    first page, a number past the end (however long) the last: never an error."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return paginator.page(1)
    number = int(raw) if len(raw) <= 18 else paginator.num_pages  # int() refuses over 4,300 digits
    return paginator.page(min(max(number, 1), paginator.num_pages))


def search_term(raw: str | None) -> str:
    """The name to search for, as typed: trimmed, without NUL characters (PostgreSQL refuses them), at most as long
    as a name can be."""
    return (raw or "").replace("\x00", "").strip()[:SEARCH_MAX_LENGTH]


def active_mentees(today: date, now: datetime) -> QuerySet:
    """Mentees with a funding arrangement that has not ended, or a session still to come."""
    current_funding = FundingArrangement.objects.filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=today), mentee_id=OuterRef("pk"))
    coming = ServiceAppointment.objects.filter(mentee_id=OuterRef("pk"), status=Status.SCHEDULED, starts_at__gt=now)
    return Mentee.objects.filter(Exists(current_funding) | Exists(coming))


def mentee_list(user: User, *, search: str = "", page: str | None = None, now: datetime | None = None) -> Page:
    """One page of the mentees `user` may open (a mentor: their assigned mentees; Senior Leadership and Finance:
    every active mentee), by name, each with the date of their next session (with this mentor, for a mentor)."""
    now = now or timezone.now()
    coming = ServiceAppointment.objects.filter(mentee_id=OuterRef("pk"), status=Status.SCHEDULED, starts_at__gt=now)
    if sees_every_mentee(user):
        mentees = active_mentees(timezone.localdate(now), now)
    else:
        mentees = mentees_visible_to(user)
        coming = coming.filter(mentor__user=user)
    if search:
        mentees = mentees.filter(full_name__icontains=search)
    # The next session is a subquery per row shown (through the (mentee, starts) index), not a GROUP BY over every
    # mentee's sessions before the page is cut.
    mentees = (mentees.annotate(next_session=Subquery(coming.order_by("starts_at").values("starts_at")[:1]))
               .only("id", "full_name", "email", "phone").order_by("full_name", "pk"))
    return page_of(Paginator(mentees, MENTEES_PER_PAGE), page)


@dataclass
class Arrangement:
    """A funding arrangement as a mentor sees it: what it is (not its reference or rate), its dates and hours."""

    kind: str
    funder: str | None
    valid_from: date
    valid_until: date | None
    hours: Hours
    applies_today: bool
    ended: bool

    @property
    def label(self) -> str:
        return f"Funded by {self.funder}" if self.funder else "Self-funded"


@dataclass
class MenteePage:
    mentee: Mentee
    arrangements: list[Arrangement]
    upcoming: Page
    past: Page
    show_mentor: bool  # Senior Leadership and Finance see every mentor's sessions with the mentee


def _sessions(queryset, page: str | None) -> Page:
    """One page of sessions as rows (SessionRow): values, not models, so a page of them is one query."""
    result = page_of(Paginator(queryset.values_list(*SessionRow.FIELDS), SESSIONS_PER_PAGE), page)
    result.object_list = SessionRow.read(result.object_list)
    return result


def mentee_page(user: User, mentee_id: int, *, upcoming_page: str | None = None, past_page: str | None = None,
                now: datetime | None = None) -> MenteePage:
    """A mentee's page, or Http404 if `user` may not open it: their contact details, funding arrangements with their
    hours, and their upcoming and past sessions (a mentor: their own sessions with the mentee)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    mentee = mentees_visible_to(user).filter(pk=mentee_id).only("id", "full_name", "email", "phone").first()
    if mentee is None:
        raise Http404("No mentee of yours has that number.")
    funding = FundingArrangement.objects.filter(mentee_id=mentee.pk).select_related("funder").order_by(
        "-valid_from", "-pk")
    arrangements = [
        Arrangement(kind=arrangement.kind, funder=arrangement.funder.name if arrangement.funder_id else None,
                    valid_from=arrangement.valid_from, valid_until=arrangement.valid_until, hours=hours,
                    applies_today=arrangement.is_valid_on(today),
                    ended=arrangement.valid_until is not None and arrangement.valid_until < today)
        for arrangement, hours in arrangements_with_hours(funding)
    ]
    sessions = appointments_visible_to(user).filter(mentee_id=mentee.pk).annotate(mentee_linked=mentee_linked(user))
    return MenteePage(
        mentee=mentee,
        arrangements=arrangements,
        upcoming=_sessions(sessions.filter(starts_at__gt=now).order_by("starts_at", "pk"), upcoming_page),
        past=_sessions(sessions.filter(starts_at__lte=now).order_by("-starts_at", "-pk"), past_page),
        show_mentor=user.sees_all_appointments,
    )
