"""A wrap-up correction and the month end at once (PostgreSQL): the month end never bills a session as it was
before a correction that is committing, and never twice."""

import threading

import pytest
from django.db import connection, transaction

from invoicing.models import InvoiceLine, SessionCreditNote, StatementLine
from invoicing.services import month_end_generate
from sessions_app.services import appointment_correct
from tests.factories import FundingArrangementFactory
from tests.invoicing.helpers import at, completed_session

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_month_end_started_while_a_correction_commits_bills_the_corrected_session_once(mentor, finance_user):
    session = completed_session(mentor, FundingArrangementFactory(), at(2026, 10, 6))
    corrected, release, errors = threading.Event(), threading.Event(), []

    def correction():
        try:
            with transaction.atomic():
                appointment_correct(appointment_id=session.pk, acting_user=finance_user, actual_minutes=45,
                                    reason="It was 45 minutes.")
                corrected.set()
                release.wait(10)  # the correction is done but not committed yet
        except Exception as error:
            errors.append(error)
        finally:
            corrected.set()
            connection.close()

    def month_end():
        try:
            corrected.wait(10)
            month_end_generate(year=2026, month=10)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=correction), threading.Thread(target=month_end)]
    for thread in threads:
        thread.start()
    threads[1].join(1.5)
    assert threads[1].is_alive(), "the month end went ahead while the correction was committing"
    release.set()
    for thread in threads:
        thread.join(20)
    assert errors == [], [(str(e), __import__("traceback").format_tb(e.__traceback__)[-12:]) for e in errors]

    line = InvoiceLine.objects.get(appointment=session)
    assert (line.minutes, line.released) == (45, False)
    assert StatementLine.objects.get(appointment=session).minutes == 45


def test_a_correction_started_during_a_month_end_waits_for_it_and_then_credits_nothing_twice(mentor, finance_user):
    session = completed_session(mentor, FundingArrangementFactory(), at(2026, 10, 6))
    month_end_started, release, errors = threading.Event(), threading.Event(), []

    def month_end():
        try:
            with transaction.atomic():
                month_end_generate(year=2026, month=10)
                month_end_started.set()
                release.wait(10)
        except Exception as error:
            errors.append(error)
        finally:
            month_end_started.set()
            connection.close()

    def correction():
        try:
            month_end_started.wait(10)
            appointment_correct(appointment_id=session.pk, acting_user=finance_user, actual_minutes=45,
                                reason="It was 45 minutes.")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=month_end), threading.Thread(target=correction)]
    for thread in threads:
        thread.start()
    threads[1].join(1.5)
    assert threads[1].is_alive(), "the correction went ahead while the month end was committing"
    release.set()
    for thread in threads:
        thread.join(20)
    assert errors == [], [(str(e), __import__("traceback").format_tb(e.__traceback__)[-12:]) for e in errors]

    # The correction saw the month end's draft line and made it again: one live line, corrected, no credit note.
    (line,) = InvoiceLine.objects.filter(appointment=session)
    assert (line.minutes, line.released) == (45, False)
    assert not SessionCreditNote.objects.exists()
