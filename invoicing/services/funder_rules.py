"""Funders' missed-session rules, applied by the month end (the Python path; month_end_sql.py writes the same in
SQL), and the counting rules for authorised hours (sessions_app.allowance), from Finance's policy.

For a missed session (late-notice cancellation, did not attend) that the outcome policy bills:

1. Notice: a late-notice cancellation recorded with at least the funder's notice period (its own, else
   LATE_NOTICE_HOURS) is a cancellation in advance: not billed, and not counted.
2. Limit: with a limit of N per term (or per arrangement), the arrangement's billed missed sessions are numbered in
   the order they took place (within the term of their date); the first N are billed, later ones are not. A
   session on a day in no term is not limited by a per-term limit.
3. Charge: the full booked time (the recorded duration, if any, as for every session), or the first hour only.

Each invoice line says which rule applied (`InvoiceLine.charge_rule`, `rule_text`).
"""

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import BooleanField, CharField, Value
from django.utils import timezone

from invoicing.models import MissedSessionRule, OutcomePolicy, Term
from sessions_app.allowance import CountingRules
from sessions_app.models import ServiceAppointment

Outcome, Status = ServiceAppointment.Outcome, ServiceAppointment.Status
MISSED = (Outcome.LATE_CANCELLATION, Outcome.DID_NOT_ATTEND)
OUTCOME_LABELS = dict(Outcome.choices)
FIRST_HOUR_MINUTES = 60
FIRST_HOUR = "first-hour"  # not an outcome: marks a first-hour funder in counting_rules' one query


def rule_text(*, outcome: str, charge: str | None, number: int | None, limit: int | None,
              term_name: str | None) -> str:
    """What an invoice line says about the rule applied. month_end_sql.py builds the same text."""
    if outcome not in MISSED:
        return OUTCOME_LABELS.get(outcome, outcome)
    parts = [OUTCOME_LABELS[outcome]]
    if number is not None:
        where = f"in {term_name}" if term_name is not None else "under this arrangement"
        parts.append(f"{number} of {limit} billed {where}")
    parts.append("first hour charged" if charge == MissedSessionRule.Charge.FIRST_HOUR else "full booked time charged")
    return ", ".join(parts)


def late_notice_hours() -> int:
    return settings.LATE_NOTICE_HOURS


def in_advance(outcome: str, notice_hours: Decimal | None, period_hours: int) -> bool:
    """A late-notice cancellation recorded with at least the notice period's notice."""
    return outcome == Outcome.LATE_CANCELLATION and notice_hours is not None and notice_hours >= period_hours


class Terms:
    """Which term a day falls in, without queries."""

    def __init__(self):
        self.terms = list(Term.objects.order_by("starts_on").values_list("starts_on", "ends_on", "name"))
        self.starts = [term[0] for term in self.terms]

    def of(self, day):
        index = bisect_right(self.starts, day) - 1
        if index >= 0 and self.terms[index][1] >= day:
            return self.terms[index][2]
        return None


@dataclass(frozen=True)
class Charged:
    billed: bool
    minutes: int
    rule: str


class MissedSessionRules:
    """The funders' rules and the numbering of each limited arrangement's missed sessions, read once per run
    (three queries), then answering per session."""

    def __init__(self, policy, *, cutoff):
        self.policy = policy
        self.rules = {rule.funder_id: rule for rule in MissedSessionRule.objects.all()}
        self.terms = Terms()
        self.numbers: dict[int, tuple[int, str | None]] = {}
        limited = [funder_id for funder_id, rule in self.rules.items() if rule.missed_limit is not None]
        if not limited:
            return
        sessions = (
            ServiceAppointment.objects.filter(status=Status.COMPLETED, outcome__in=MISSED, starts_at__lt=cutoff,
                                              funding_arrangement__funder_id__in=limited)
            .order_by("starts_at", "pk")
            .values_list("pk", "funding_arrangement_id", "funding_arrangement__funder_id", "starts_at", "outcome",
                         "notice_hours")
        )
        counts = defaultdict(int)
        for pk, arrangement_id, funder_id, starts_at, outcome, notice in sessions:
            rule = self.rules[funder_id]
            if not policy.billed(funder_id, outcome) or in_advance(outcome, notice, self.notice_of(funder_id)):
                continue
            term = None
            if rule.limit_per == MissedSessionRule.LimitPer.TERM:
                term = self.terms.of(timezone.localdate(starts_at))
                if term is None:
                    continue  # a day in no term: no per-term limit
            counts[(arrangement_id, term)] += 1
            self.numbers[pk] = (counts[(arrangement_id, term)], term)

    def notice_of(self, funder_id) -> int:
        rule = self.rules.get(funder_id)
        return rule.notice_hours if rule is not None and rule.notice_hours is not None else late_notice_hours()

    def charge(self, *, pk, funder_id, outcome, minutes, notice_hours) -> Charged:
        """How the month end bills a session that the outcome policy bills."""
        if outcome not in MISSED:
            return Charged(True, minutes, rule_text(outcome=outcome, charge=None, number=None, limit=None,
                                                    term_name=None))
        if in_advance(outcome, notice_hours, self.notice_of(funder_id)):
            return Charged(False, minutes, "")
        rule = self.rules.get(funder_id)
        charge = rule.charge if rule is not None else MissedSessionRule.Charge.FULL
        if charge == MissedSessionRule.Charge.FIRST_HOUR:
            minutes = min(minutes, FIRST_HOUR_MINUTES)
        number = limit = term = None
        if rule is not None and rule.missed_limit is not None and pk in self.numbers:
            number, term = self.numbers[pk]
            limit = rule.missed_limit
            if number > limit:
                return Charged(False, minutes, "")
        return Charged(True, minutes, rule_text(outcome=outcome, charge=charge, number=number, limit=limit,
                                                term_name=term))


def counting_rules() -> CountingRules:
    """For sessions_app.allowance: the outcomes each funder bills, and who charges a missed session's first hour."""
    # One query (pages count theirs): the policies, and the first-hour funders as rows whose outcome is FIRST_HOUR.
    first_hour_rows = MissedSessionRule.objects.order_by().filter(
        charge=MissedSessionRule.Charge.FIRST_HOUR).values_list("funder_id", Value(FIRST_HOUR, output_field=CharField()), Value(True, output_field=BooleanField()))
    rows = list(OutcomePolicy.objects.order_by().values_list("funder_id", "outcome", "billed")
                .union(first_hour_rows, all=True))
    policies = [row for row in rows if row[1] != FIRST_HOUR]
    first_hour = frozenset(funder_id for funder_id, outcome, _ in rows if outcome == FIRST_HOUR)
    default = frozenset(outcome for funder_id, outcome, billed in policies if funder_id is None and billed)
    funders: dict[int, set] = {}
    for funder_id, outcome, billed in policies:
        if funder_id is not None:
            funders.setdefault(funder_id, set(default))
            (funders[funder_id].add if billed else funders[funder_id].discard)(outcome)
    return CountingRules(default=default, funders={k: frozenset(v) for k, v in funders.items()},
                         first_hour_funders=first_hour)
