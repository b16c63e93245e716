"""Reading Finance's policy and rates once per run, then answering per session without queries."""

from bisect import bisect_right
from decimal import ROUND_HALF_UP, Decimal

from invoicing.models import MentorPayRate, OutcomePolicy
from sessions_app.models import Mentor

PENNY = Decimal("0.01")


class Policy:
    """Whether an outcome is billed and paid, for a funder (None for self-funded and the default)."""

    def __init__(self):
        self.rules = {(p.funder_id, p.outcome): (p.billed, p.paid) for p in OutcomePolicy.objects.all()}

    def _rule(self, funder_id, outcome):
        return self.rules.get((funder_id, outcome)) or self.rules.get((None, outcome)) or (False, False)

    def billed(self, funder_id, outcome) -> bool:
        return self._rule(funder_id, outcome)[0]

    def paid(self, funder_id, outcome) -> bool:
        return self._rule(funder_id, outcome)[1]


class PayRates:
    """Each mentor's pay rate on a day: the latest rate applying from that day or before, else the mentor's rate."""

    def __init__(self, mentor_ids=None):
        mentors = Mentor.objects.all() if mentor_ids is None else Mentor.objects.filter(pk__in=mentor_ids)
        self.base = dict(mentors.values_list("pk", "hourly_pay_rate"))
        self.changes: dict[int, tuple[list, list]] = {}
        rates = MentorPayRate.objects.order_by("mentor_id", "valid_from")
        if mentor_ids is not None:
            rates = rates.filter(mentor_id__in=mentor_ids)
        for mentor_id, valid_from, rate in rates.values_list("mentor_id", "valid_from", "hourly_rate"):
            days, values = self.changes.setdefault(mentor_id, ([], []))
            days.append(valid_from)
            values.append(rate)

    def on(self, mentor_id, day) -> Decimal:
        days, values = self.changes.get(mentor_id, ((), ()))
        index = bisect_right(days, day)
        return values[index - 1] if index else self.base[mentor_id]


def money(amount: Decimal) -> Decimal:
    return amount.quantize(PENNY, rounding=ROUND_HALF_UP)


def vat_on(net: Decimal, rate_percent: Decimal) -> Decimal:
    return money(net * rate_percent / Decimal(100))
