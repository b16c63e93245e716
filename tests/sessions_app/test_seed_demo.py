from datetime import datetime, timedelta
from io import StringIO
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.utils import timezone

from sessions_app import roles
from sessions_app.management.commands.seed_demo import demo_slots
from sessions_app.models import (
    AppointmentEvent,
    Funder,
    FundingArrangement,
    Mentee,
    Mentor,
    ServiceAppointment,
    User,
)

LONDON = ZoneInfo("Europe/London")
PASSWORD = "mentoring-demo"
LOGINS = {
    "mentor@example.com": roles.MENTOR,
    "mentor2@example.com": roles.MENTOR,
    "leader@example.com": roles.SENIOR_LEADERSHIP,
    "finance@example.com": roles.FINANCE,
}


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "memberships": User.groups.through.objects.count(),
        "groups": Group.objects.count(),
        "mentors": Mentor.objects.count(),
        "mentees": Mentee.objects.count(),
        "funders": Funder.objects.count(),
        "arrangements": FundingArrangement.objects.count(),
        "appointments": ServiceAppointment.objects.count(),
        "events": AppointmentEvent.objects.count(),
    }


@pytest.fixture
def seeded_twice(db):
    first_output = seed()
    after_first = counts()
    second_output = seed()
    return first_output, after_first, second_output


def test_second_run_creates_nothing_new(seeded_twice):
    _, after_first, second_output = seeded_twice
    assert after_first["users"] == 4 and after_first["appointments"] > 0
    assert counts() == after_first
    assert "none booked" in second_output


def test_prints_every_login_and_the_address(seeded_twice):
    first_output, _, second_output = seeded_twice
    for output in (first_output, second_output):
        for email, role in LOGINS.items():
            assert f"{email}" in output and f"/  {PASSWORD}  /  {role}" in output
        assert "http://127.0.0.1:8000" in output


@pytest.mark.parametrize("email, role", LOGINS.items())
def test_each_login_works_with_the_demo_password_and_has_its_role(client, seeded_twice, email, role):
    assert client.login(email=email, password=PASSWORD)
    user = User.objects.get(email=email)
    assert [group.name for group in user.groups.all()] == [role]
    assert hasattr(user, "mentor_profile") == (role == roles.MENTOR)


def test_only_finance_gets_into_the_admin(client, seeded_twice):
    for email, role in LOGINS.items():
        client.login(email=email, password=PASSWORD)
        response = client.get("/admin/")
        assert (response.status_code == 200) == (role == roles.FINANCE), email
        client.logout()


def test_mentees_cover_every_funding_case(seeded_twice):
    today = timezone.localdate()
    kinds_valid_today = {
        mentee.full_name: sorted(a.kind for a in mentee.funding_arrangements.valid_on(today))
        for mentee in Mentee.objects.all()
    }
    cases = list(kinds_valid_today.values())
    assert ["funded"] in cases  # one Funded arrangement
    assert ["funded", "self_funded"] in cases  # a choice for the mentor
    assert ["self_funded"] in cases
    assert [] in cases  # nothing: the wrap-up goes to Finance
    assert Mentee.objects.filter(funding_arrangements__isnull=True).exists()
    assert {"Student Finance England", "University of Northbridge", "Harbour Logistics Ltd"} <= set(
        Funder.objects.values_list("name", flat=True)
    )
    # A funder billed only for what the mentee confirmed, and others billed for every session.
    assert set(Funder.objects.values_list("bill_only_confirmed", flat=True)) == {True, False}


def test_first_mentor_has_past_sessions_to_wrap_up_this_month_and_last(seeded_twice):
    now = timezone.localtime()
    last_month = (now.replace(day=1) - timedelta(days=1)).month
    to_wrap_up = ServiceAppointment.objects.filter(mentor__user__email="mentor@example.com").to_wrap_up(now)
    months = {timezone.localtime(a.starts_at).month for a in to_wrap_up}
    assert {now.month, last_month} <= months
    assert all(a.status == ServiceAppointment.Status.SCHEDULED for a in to_wrap_up)


def test_both_mentors_have_sessions_earlier_today_and_in_the_future_in_person_and_online(seeded_twice):
    now = timezone.localtime()
    for email in ("mentor@example.com", "mentor2@example.com"):
        appointments = list(ServiceAppointment.objects.filter(mentor__user__email=email))
        assert any(timezone.localtime(a.starts_at).date() == now.date() and a.starts_at <= now for a in appointments)
        assert any(a.starts_at > now for a in appointments)
        next_month = (now.replace(day=28) + timedelta(days=5)).month
        assert any(timezone.localtime(a.starts_at).month == next_month for a in appointments)
        assert {a.mode for a in appointments} == {"in_person", "online"}
        assert all(a.reference.startswith("SA-") for a in appointments)
        assert all([e.kind for e in a.events.all()] == ["booked"] for a in appointments)


def test_an_existing_account_keeps_its_password(client, db):
    seed()
    user = User.objects.get(email="finance@example.com")
    user.set_password("changed-by-fiona")
    user.save()
    seed()
    assert client.login(email="finance@example.com", password="changed-by-fiona")


@pytest.mark.parametrize(
    "local_now",
    [
        datetime(2026, 3, 1, 0, 20),  # first of the month, just after midnight
        datetime(2026, 3, 29, 1, 10),  # the night the clocks go forward
        datetime(2026, 10, 25, 1, 30),  # the night the clocks go back
        datetime(2026, 12, 31, 23, 55),  # last minutes of the year
        datetime(2026, 2, 28, 13, 0),  # last day of a short month
    ],
)
def test_sessions_are_placed_sensibly_at_awkward_moments(local_now):
    now = local_now.replace(tzinfo=LONDON)
    slots = demo_slots(now, offset=0) + demo_slots(now, offset=1)
    today = now.date()
    this_month = (today.year, today.month)
    for slot in slots:
        assert slot.starts_at.tzinfo is not None
        assert slot.minutes > 0
    days = [slot.starts_at.astimezone(LONDON).date() for slot in slots]
    assert any(day == today and slot.starts_at <= now for day, slot in zip(days, slots))  # earlier today
    assert any(slot.starts_at > now for slot in slots)
    assert any((day.year, day.month) < this_month for day in days)  # last month
    assert any((day.year, day.month) > this_month for day in days)  # next month
    later_today = [s for d, s in zip(days, slots) if d == today and s.starts_at > now]
    if local_now.hour < 23:
        assert later_today


def test_runs_at_an_awkward_moment_without_failing(client, db):
    awkward = datetime(2026, 3, 1, 0, 20, tzinfo=LONDON)
    with mock.patch("django.utils.timezone.now", return_value=awkward):
        seed()
        seed()
    assert ServiceAppointment.objects.filter(mentor__user__email="mentor@example.com").to_wrap_up(awkward).exists()
