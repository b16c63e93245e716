import os
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from sessions_app import roles
from tests.factories import AppointmentFactory, MenteeFactory, MentorFactory, UserFactory


def require(service: str, reason: str):
    """Skip a test whose service is absent, or fail it when .ci/run says the service is required."""
    if os.environ.get(f"REQUIRE_{service.upper()}") == "1":
        pytest.fail(f"{reason} (REQUIRE_{service.upper()}=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        require("postgres", "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/mentoring")


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def mentor(db):
    return MentorFactory(user__full_name="Ann Mentor", user__email="ann@example.com")


@pytest.fixture
def other_mentor(db):
    return MentorFactory(user__full_name="Olu Othermentor", user__email="olu@example.com")


@pytest.fixture
def leader(db):
    return UserFactory(full_name="Lee Leader", email="lee@example.com", roles=[roles.SENIOR_LEADERSHIP])


@pytest.fixture
def finance_user(db):
    return UserFactory(full_name="Fay Finance", email="fay@example.com", roles=[roles.FINANCE])


@pytest.fixture
def mentee(db):
    return MenteeFactory(full_name="Mo Mentee")


@pytest.fixture
def past_appointment(mentor, mentee):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=3)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


@pytest.fixture
def future_appointment(mentor, mentee):
    start = timezone.now().replace(microsecond=0) + timedelta(days=3)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def _client_for(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def mentor_client(client, mentor):
    return _client_for(client, mentor.user)


@pytest.fixture
def leader_client(client, leader):
    return _client_for(client, leader)


@pytest.fixture
def finance_client(client, finance_user):
    return _client_for(client, finance_user)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
