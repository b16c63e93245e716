"""Two payment runs created at once (two Finance clerks, two tabs) never pay a statement twice: the statements are
locked, and the run that comes second sees the first one's payments once it has them (PostgreSQL)."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection

from invoicing.models import OrganisationDetails, PaymentRun, PaymentRunItem, PaymentStatement
from invoicing.services.payment_runs import PaymentRunRefused, payment_run_create
from sessions_app.services import bank_details_save
from tests.factories import MentorFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.time_machine(date(2026, 12, 1))]


def at_once(*calls):
    """Run the calls in threads released together; what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as error:  # compared below
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def statements(finance_user):
    OrganisationDetails.objects.filter(pk=1).update(payer_account_name="Mentoring", payer_sort_code="400102",
                                                    payer_account_number="11223344")
    rows = []
    for i in range(6):
        mentor = MentorFactory()
        bank_details_save(mentor=mentor, acting_user=mentor.user, account_name=f"Mentor {i}", sort_code="123456",
                          account_number=f"1234567{i}")
        rows.append(PaymentStatement.objects.create(
            number=f"PAY-2026-{i + 1:06d}", status=PaymentStatement.Status.APPROVED, mentor=mentor,
            period_start=date(2026, 11, 1), period_end=date(2026, 11, 30), total=Decimal("10.00") * (i + 1),
            issue_date=date(2026, 11, 30)))
    return [s.pk for s in rows]


@pytest.mark.parametrize("attempt", range(3))
def test_two_runs_of_the_same_statements_at_once_make_one_run(statements, finance_user, attempt):
    results = at_once(*[lambda: payment_run_create(statement_ids=statements, acting_user=finance_user,
                                                   payment_date=date(2026, 12, 4))] * 2)
    runs = [r for r in results if isinstance(r, PaymentRun)]
    refusals = [r for r in results if isinstance(r, PaymentRunRefused)]
    assert (len(runs), len(refusals)) == (1, 1), results
    assert "No payment run was created" in refusals[0].messages[0]
    assert PaymentRun.objects.count() == 1
    assert sorted(PaymentRunItem.objects.values_list("statement_id", flat=True)) == sorted(statements)


def test_overlapping_runs_at_once_pay_each_statement_once(statements, finance_user):
    first, second = statements[:4], statements[2:]
    results = at_once(
        lambda: payment_run_create(statement_ids=first, acting_user=finance_user, payment_date=date(2026, 12, 4)),
        lambda: payment_run_create(statement_ids=second, acting_user=finance_user, payment_date=date(2026, 12, 4)),
    )
    assert all(isinstance(r, PaymentRun) for r in results), results
    paid = list(PaymentRunItem.objects.values_list("statement_id", flat=True))
    assert sorted(paid) == sorted(statements)  # every statement in exactly one run
    total = sum(PaymentStatement.objects.get(pk=pk).total for pk in statements)
    assert sum(run.total for run in PaymentRun.objects.all()) == total
