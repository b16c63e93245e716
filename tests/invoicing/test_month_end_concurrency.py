import threading
from datetime import date

import pytest
from django.db import connection

from invoicing.models import Invoice, InvoiceLine, PaymentStatement, StatementLine
from invoicing.services import invoices_issue, month_end_generate
from tests.factories import FunderFactory, FundingArrangementFactory
from tests.invoicing.helpers import at, completed_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(*calls):
    barrier = threading.Barrier(len(calls))
    errors = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_two_month_end_runs_at_once_make_one_set_of_documents(mentor, other_mentor):
    funder = FunderFactory()
    for i in range(12):
        arrangement = FundingArrangementFactory(funder=funder)
        completed_session(mentor if i % 2 else other_mentor, arrangement, at(2026, 11, 1 + i))
    at_once(lambda: month_end_generate(year=2026, month=11), lambda: month_end_generate(year=2026, month=11))
    assert InvoiceLine.objects.count() == 12 and Invoice.objects.count() == 12
    assert StatementLine.objects.count() == 12 and PaymentStatement.objects.count() == 2


def test_issuing_at_once_gives_gapless_unique_numbers(mentor, finance_user):
    funder = FunderFactory()
    for i in range(10):
        completed_session(mentor, FundingArrangementFactory(funder=funder), at(2026, 11, 1 + i))
    month_end_generate(year=2026, month=11)
    ids = list(Invoice.objects.order_by("pk").values_list("pk", flat=True))
    at_once(*[lambda chunk=ids[i::2]: invoices_issue(invoice_ids=chunk, acting_user=finance_user, today=date(2026, 12, 1))
              for i in range(2)])
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"INV-2026-{n:06d}" for n in range(1, 11)]
