"""Hostile input to My mentees' search box and page number, and a mentee's page numbers and address: never a server
error, a junk page number gives the first page and one past the end the last, and what was typed comes back
escaped. Run it on PostgreSQL too (it refuses NUL characters SQLite stores)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import example, given
from hypothesis import strategies as st

from sessions_app.mentees import MENTEES_PER_PAGE, SESSIONS_PER_PAGE
from sessions_app.models import MentorAssignment
from tests.factories import AppointmentFactory, FundingArrangementFactory
from tests.strategies import NASTY_NUMBERS, examples, form_data, hostile_id, hostile_text, last, posted
from tests.test_hostile_input import browser, no_server_error, rolled_back

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(mentor, leader):
    """Two pages of mentees named "Sam …" (one assigned to the mentor, with two pages of past sessions)."""
    arrangements = [FundingArrangementFactory(mentee__full_name=f"Sam {i:02d}") for i in range(MENTEES_PER_PAGE + 1)]
    mentee = arrangements[0].mentee
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    now = timezone.now().replace(microsecond=0)
    for day in range(1, SESSIONS_PER_PAGE + 2):
        AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=now - timedelta(days=day),
                           ends_at=now - timedelta(days=day, hours=-1))
    return {"mentor": mentor, "leader": leader, "mentee": mentee}


def expected_page(raw, pages: int) -> int:
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return min(max(int(raw) if len(raw) <= 18 else pages, 1), pages)


page_numbers = posted(st.one_of(hostile_id, st.sampled_from(NASTY_NUMBERS + ["2", "3", "0", "-1", "1.5", "2\x00"])))


@given(search=posted(st.one_of(hostile_text, st.sampled_from(["sam", "SAM 0", "%", "_", "Sam\x00", " sam "]))),
       page=page_numbers)
@example(search=None, page="99999999999999999999")
@example(search=None, page="-3")
@example(search="sam", page="9" * 5000)
@example(search="<script>alert(1)</script>", page=None)
@examples(40)
def test_the_search_box_and_page_number_never_fail(world, search, page):
    with rolled_back():
        response = no_server_error(browser(world["leader"]).get(reverse("mentee-list"),
                                                                form_data({"q": search, "page": page})), 200)
        shown = response.context["page"]
        assert shown.number == expected_page(last(page), shown.paginator.num_pages)
        typed = (last(search) or "").replace("\x00", "").strip()
        assert "<script>alert(1)" not in response.content.decode()
        if typed and shown.paginator.count == 0:
            assert "No mentee's name contains" in response.content.decode()


@given(upcoming=page_numbers, past=page_numbers)
@example(upcoming="1", past="2")
@example(upcoming="abc", past="99999999999999999999")
@examples(25)
def test_a_mentees_page_numbers_give_the_first_or_last_page(world, upcoming, past):
    with rolled_back():
        response = no_server_error(browser(world["mentor"].user).get(
            reverse("mentee-detail", args=[world["mentee"].pk]), form_data({"upcoming": upcoming, "past": past})), 200)
        page = response.context["page"]
        assert page.past.number == expected_page(last(past), page.past.paginator.num_pages)
        assert page.upcoming.number == 1


@pytest.mark.parametrize("mentee_id", ["0", "99999999999999999999", str(2**63), "1" * 40])
def test_made_up_mentee_numbers_are_not_found(world, mentee_id):
    assert no_server_error(browser(world["leader"]).get(f"/mentees/{mentee_id}/"), 404).status_code == 404
