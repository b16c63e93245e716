"""Authorised hours: how many hours of each funding arrangement are used, booked and left.

*Used* are the wrapped-up (Completed) sessions under the arrangement that are billed: an attended session at the
time it took, a missed session (late-notice cancellation, did not attend) that the funder bills at what the funder
charges for it (the first hour, or the full booked time). *Booked* are the mentee's sessions not yet wrapped up
(Scheduled) on the arrangement's dates. *Left* is authorised − used − booked.

Which outcomes are billed, and how a missed session is charged, is Finance's policy, kept by the app above this one
(invoicing), which this app does not import: that app provides the rules through the `counting_rules` hook
(sessions_app/hooks.py) when it starts. Without it, attended and missed sessions count in full.

Every count here is a fixed number of queries however many arrangements: annotations, never a query per row.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import (
    Case, DurationField, ExpressionWrapper, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum,
    Value, When,
)
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from sessions_app import hooks
from sessions_app.models import FundingArrangement, ServiceAppointment

Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status
MISSED = (Outcome.LATE_CANCELLATION, Outcome.DID_NOT_ATTEND)
HOUR = Decimal("0.01")


@dataclass(frozen=True)
class CountingRules:
    """Which outcomes count against a funder's hours, and whether a missed session counts its first hour only.

    `default` applies to every funder without its own entry in `funders` (and to self-funded arrangements)."""

    default: frozenset = frozenset({Outcome.ATTENDED, *MISSED})
    funders: dict = field(default_factory=dict)  # funder id -> frozenset of billed outcomes
    first_hour_funders: frozenset = frozenset()  # funder ids charging a missed session's first hour only

    def counted(self, funder_id, outcome) -> bool:
        return outcome in self.funders.get(funder_id, self.default)

    def condition(self, *, outcome: str, funder: str) -> Q:
        """Sessions that count (by their outcome and their arrangement's funder), as a filter on those paths."""
        own = list(self.funders)
        result = Q(**{f"{outcome}__in": list(self.default)}) & (
            ~Q(**{f"{funder}__in": own}) | Q(**{f"{funder}__isnull": True}) if own else Q()
        )
        for funder_id, outcomes in self.funders.items():
            result |= Q(**{funder: funder_id, f"{outcome}__in": list(outcomes)})
        return result


def counting_rules() -> CountingRules:
    """Finance's rules as they are now (one query), or every outcome in full without invoicing."""
    return hooks.counting_rules()


# ---------------------------------------------------------------- the sums, as expressions

_BOOKED = ExpressionWrapper(F("ends_at") - F("starts_at"), output_field=DurationField())


def _duration_of(prefix: str, rules: CountingRules) -> tuple:
    """(minutes recorded, booked time) expressions for an arrangement's session: the actual duration when recorded,
    else the booked time; a missed session of a first-hour funder counts an hour at most."""
    actual, starts, ends = f"{prefix}actual_minutes", f"{prefix}starts_at", f"{prefix}ends_at"
    booked = ExpressionWrapper(F(ends) - F(starts), output_field=DurationField())
    first_hour = Q(**{f"{prefix}outcome__in": list(MISSED), "funder_id__in": list(rules.first_hour_funders)})
    minutes = Case(When(first_hour, then=Least(F(actual), Value(60))), default=F(actual), output_field=IntegerField())
    duration = Case(When(first_hour, then=Least(booked, Value(timedelta(hours=1)))), default=booked,
                    output_field=DurationField())
    return minutes, duration


def _as_hours(minutes, duration) -> Decimal:
    seconds = (minutes or 0) * 60 + (duration or timedelta()).total_seconds()
    return (Decimal(seconds) / Decimal(3600)).quantize(HOUR, rounding=ROUND_HALF_UP)


def with_hours(arrangements: QuerySet, *, rules: CountingRules | None = None) -> QuerySet:
    """The arrangements annotated with what their hours need: used (minutes recorded, booked time of those without),
    booked. Read them with `hours_of`."""
    rules = rules or counting_rules()
    used = Q(appointments__status=Status.COMPLETED) & rules.condition(outcome="appointments__outcome",
                                                                       funder="funder_id")
    minutes, duration = _duration_of("appointments__", rules)
    recorded = Q(appointments__actual_minutes__isnull=False)
    booked = (
        ServiceAppointment.objects.filter(
            mentee_id=OuterRef("mentee_id"), status=Status.SCHEDULED,
            starts_at__date__gte=OuterRef("valid_from"),
            starts_at__date__lte=Coalesce(OuterRef("valid_until"), Value(date.max)),
        )
        .values("mentee_id").annotate(total=Sum(_BOOKED)).values("total")
    )
    return arrangements.annotate(
        used_minutes=Sum(minutes, filter=used & recorded),
        used_duration=Sum(duration, filter=used & ~recorded),
        booked_duration=Subquery(booked, output_field=DurationField()),
    )


@dataclass(frozen=True)
class Hours:
    """An arrangement's hours: authorised (None: no limit), used, booked, left (None: no limit)."""

    authorised: Decimal | None
    used: Decimal
    booked: Decimal
    ends: date | None

    @property
    def left(self) -> Decimal | None:
        if self.authorised is None:
            return None
        return self.authorised - self.used - self.booked

    @property
    def left_after_used(self) -> Decimal | None:
        return None if self.authorised is None else self.authorised - self.used

    @property
    def nearly_used_up(self) -> bool:
        return self.left is not None and self.left < warning_threshold()


def warning_threshold() -> Decimal:
    return Decimal(str(settings.AUTHORISED_HOURS_WARNING))


def hours_of(arrangement: FundingArrangement) -> Hours:
    """The hours of an arrangement annotated by `with_hours`."""
    return Hours(
        authorised=arrangement.hours_allowance,
        used=_as_hours(arrangement.used_minutes, arrangement.used_duration),
        booked=_as_hours(0, arrangement.booked_duration),
        ends=arrangement.valid_until,
    )


def arrangements_with_hours(arrangements: QuerySet | None = None) -> list[tuple[FundingArrangement, Hours]]:
    """Each arrangement and its hours, in one query (and one for the rules)."""
    queryset = with_hours(arrangements if arrangements is not None else FundingArrangement.objects.all())
    return [(arrangement, hours_of(arrangement)) for arrangement in queryset]


def hours_left(arrangement: FundingArrangement | int, *, adding_minutes: int = 0) -> Decimal | None:
    """Hours the arrangement has left once what is used and booked is counted (None: the funder sets no limit), less
    `adding_minutes` (a booking or series being made): negative means it would go over. For the booking's warnings."""
    pk = arrangement if isinstance(arrangement, int) else arrangement.pk
    row = with_hours(FundingArrangement.objects.filter(pk=pk)).get()
    left = hours_of(row).left
    if left is None:
        return None
    return left - (Decimal(adding_minutes) / Decimal(60)).quantize(HOUR, rounding=ROUND_HALF_UP)


def nearly_used_up_filter(queryset: QuerySet) -> QuerySet:
    """Arrangements with authorised hours whose hours left are below the warning threshold (AUTHORISED_HOURS_WARNING):
    evaluated in Python over one annotated query, then narrowed by id."""
    ids = [a.pk for a, hours in arrangements_with_hours(queryset.filter(hours_allowance__isnull=False))
           if hours.nearly_used_up]
    return queryset.filter(pk__in=ids)


def ended_filter(queryset: QuerySet, today: date | None = None) -> QuerySet:
    return queryset.filter(valid_until__lt=today or timezone.localdate())


def session_counted_hours(appointment: ServiceAppointment, arrangement: FundingArrangement, *,
                          rules: CountingRules | None = None) -> Decimal:
    """What one session being wrapped up would count against the arrangement (0 if its outcome is not billed)."""
    rules = rules or counting_rules()
    if not rules.counted(arrangement.funder_id, appointment.outcome):
        return Decimal("0.00")
    minutes = appointment.minutes
    if appointment.outcome in MISSED and arrangement.funder_id in rules.first_hour_funders:
        minutes = min(minutes, 60)
    return (Decimal(minutes) / Decimal(60)).quantize(HOUR, rounding=ROUND_HALF_UP)


def used_hours(arrangement_id: int, *, rules: CountingRules | None = None) -> Decimal:
    """The arrangement's used hours, read now (the wrap-up reads it with the arrangement's row locked)."""
    row = with_hours(FundingArrangement.objects.filter(pk=arrangement_id), rules=rules).get()
    return hours_of(row).used



@dataclass(frozen=True)
class ToRenew:
    """An arrangement Finance should look at: its hours nearly used up, or its end near."""

    arrangement: FundingArrangement
    hours: Hours
    nearly_used_up: bool
    ending_soon: bool


def arrangements_to_renew(*, today: date | None = None, days: int = 30) -> list[ToRenew]:
    """Arrangements not yet ended whose hours left are under AUTHORISED_HOURS_WARNING, or that end within `days`
    days: the soonest to end first. Three queries (the rules, the arrangements with their hours)."""
    today = today or timezone.localdate()
    soon = today + timedelta(days=days)
    candidates = (
        FundingArrangement.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today),
                                          valid_from__lte=soon)
        .filter(Q(hours_allowance__isnull=False) | Q(valid_until__lte=soon))
        .select_related("mentee", "funder")
    )
    rows = []
    for arrangement, hours in arrangements_with_hours(candidates):
        ending_soon = arrangement.valid_until is not None and arrangement.valid_until <= soon
        if hours.nearly_used_up or ending_soon:
            rows.append(ToRenew(arrangement, hours, hours.nearly_used_up, ending_soon))
    rows.sort(key=lambda row: (row.arrangement.valid_until or date.max, row.arrangement.mentee.full_name,
                               row.arrangement.pk))
    return rows
