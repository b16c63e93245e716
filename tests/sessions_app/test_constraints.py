from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from sessions_app.models import FundingArrangement, ServiceAppointment
from sessions_app.services import appointment_book
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory, UserFactory


def violates(**changes):
    """Write the change straight to the database, past every form and service: the database must refuse it."""
    def run(appointment):
        with pytest.raises(IntegrityError), transaction.atomic():
            ServiceAppointment.objects.filter(pk=appointment.pk).update(**changes)
    return run


@pytest.mark.parametrize("changes", [
    {"ends_at": timezone.now() - timedelta(days=400)},          # ends before it starts
    {"reference": "XX-000001"},                                   # not an SA reference
    {"status": "done"},                                           # unknown status
    {"status": "completed"},                                      # completed without outcome
    {"outcome": "attended"},                                      # scheduled with an outcome
    {"status": "awaiting_finance", "outcome": "attended", "wrapped_up_at": timezone.now()},  # no admin details
    {"status": "cancelled"},                                      # cancelled without reason
    {"actual_minutes": 0},
])
def test_database_refuses_an_impossible_appointment(db, changes):
    violates(**changes)(AppointmentFactory())


def test_sa_references_are_unique(db):
    first, second = AppointmentFactory(), AppointmentFactory()
    violates(reference=first.reference)(second)


def test_booking_a_session_that_ends_before_it_starts_says_so(db, mentor, mentee):
    start = timezone.now()
    with pytest.raises(ValidationError, match="The session must end after it starts"):
        appointment_book(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start, acting_user=None)
    assert not ServiceAppointment.objects.exists()


@pytest.mark.parametrize("fields", [
    {"kind": "funded", "funder": None},
    {"kind": "self_funded"},  # with the factory's funder
    {"valid_from": date(2026, 5, 1), "valid_until": date(2026, 4, 30)},
    {"hourly_rate": -1},
    {"hours_allowance": 0},
])
def test_database_refuses_an_impossible_funding_arrangement(db, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        FundingArrangementFactory(**fields)


def test_funding_arrangement_explains_a_missing_funder(db, mentee):
    arrangement = FundingArrangement(mentee=mentee, kind="funded", hourly_rate=50, valid_from=date(2026, 1, 1))
    with pytest.raises(ValidationError) as error:
        arrangement.clean()
    assert error.value.message_dict == {"funder": ["Choose the funder for a Funded arrangement."]}


def test_arrangements_valid_on_a_day(db, mentee):
    funder = FunderFactory()
    old = FundingArrangementFactory(mentee=mentee, funder=funder, valid_from=date(2025, 9, 1), valid_until=date(2026, 8, 31))
    new = FundingArrangementFactory(mentee=mentee, funder=funder, valid_from=date(2026, 9, 1))
    assert list(FundingArrangement.objects.valid_on(date(2026, 8, 31))) == [old]
    assert list(FundingArrangement.objects.valid_on(date(2026, 9, 1))) == [new]
    assert old.label.startswith(f"Funded by {funder.name}, ref. PO-")


def test_email_addresses_are_unique_whatever_their_case(db):
    UserFactory(email="sam@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(email="Sam@Example.com")
