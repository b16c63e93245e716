"""My mentees and a mentee's page (issue 17: book a session from a mentee's page), as a mentor, Senior Leadership
and Finance see them. Who gets a 404 is in tests/test_access_matrix.py; hostile input in
tests/test_hostile_input_mentees.py."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions_app.mentees import MENTEES_PER_PAGE, SESSIONS_PER_PAGE
from sessions_app.models import CancellationReason, MentorAssignment, ServiceAppointment
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory

Status = ServiceAppointment.Status


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def assigned(mentor, mentee):
    mentee.email, mentee.phone, mentee.address = "mo@example.org", "07700 900123", "1 Private Road, Leeds"
    mentee.save()
    MentorAssignment.objects.create(mentor=mentor, mentee=mentee)
    return mentee


def session(mentor, mentee, *, days, **extra):
    start = timezone.now().replace(microsecond=0) + timedelta(days=days)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1),
                              **extra)


def test_a_mentor_lists_their_assigned_mentees_only_from_the_navigation(mentor_client, mentor, assigned):
    MenteeFactory(full_name="Not Assigned")
    soon = session(mentor, assigned, days=2)
    home = text(mentor_client.get(reverse("home")))
    assert f'<a href="{reverse("mentee-list")}">My mentees</a>' in home
    page = text(mentor_client.get(reverse("mentee-list")))
    assert f'<a href="{reverse("mentee-detail", args=[assigned.pk])}">Mo Mentee</a>' in page
    assert "Not Assigned" not in page
    assert timezone.localtime(soon.starts_at).strftime("%a %-d %b %Y,</span> %H:%M") in page  # their next session


def test_a_mentor_with_no_mentees_is_told_who_assigns_them(client, other_mentor):
    client.force_login(other_mentor.user)
    assert "No mentees are assigned to you yet. Senior Leadership or Finance assign them." in text(
        client.get(reverse("mentee-list")))


def test_senior_leadership_see_every_active_mentee_and_search_by_name(leader_client, mentor):
    funded = FundingArrangementFactory(mentee__full_name="Ada Funded").mentee
    FundingArrangementFactory(mentee__full_name="Bea Ended", valid_until=date(2021, 1, 1))
    booked = MenteeFactory(full_name="Cy Booked")
    session(mentor, booked, days=5)
    MenteeFactory(full_name="Di Nothing")
    page = text(leader_client.get(reverse("mentee-list")))
    assert "<h1>Mentees</h1>" in page
    assert "Ada Funded" in page and "Cy Booked" in page
    assert "Bea Ended" not in page and "Di Nothing" not in page
    found = text(leader_client.get(reverse("mentee-list"), {"q": " funded "}))
    assert f'href="{reverse("mentee-detail", args=[funded.pk])}"' in found and "Cy Booked" not in found
    assert "No mentee's name contains “Zed”" in text(leader_client.get(reverse("mentee-list"), {"q": "Zed"}))


def test_the_list_is_paginated_and_keeps_the_search(finance_client):
    for i in range(MENTEES_PER_PAGE + 2):
        FundingArrangementFactory(mentee__full_name=f"Sam {i:02d}")
    FundingArrangementFactory(mentee__full_name="Other Person")
    first = finance_client.get(reverse("mentee-list"), {"q": "sam"})
    assert len(first.context["page"].object_list) == MENTEES_PER_PAGE
    assert '<a class="button button--quiet" href="?q=sam&amp;page=2" rel="next">' in text(first)
    second = text(finance_client.get(reverse("mentee-list"), {"q": "sam", "page": "2"}))
    assert "Sam 25" in second and "Sam 26" in second and "Sam 00" not in second and "Page 2 of 2" in second


def test_the_mentee_page_shows_contact_hours_and_sessions_but_nothing_else_of_their_record(
        mentor_client, mentor, other_mentor, assigned):
    arrangement = FundingArrangementFactory(mentee=assigned, funder__name="Student Finance England",
                                            reference="PO-SECRET-77", hourly_rate=Decimal("61.50"),
                                            hours_allowance=Decimal("10"))
    done = session(mentor, assigned, days=-7, status=Status.COMPLETED, outcome=ServiceAppointment.Outcome.ATTENDED,
                   funding_arrangement=arrangement, wrapped_up_by=mentor.user, wrapped_up_at=timezone.now())
    coming = session(mentor, assigned, days=3)
    theirs = session(other_mentor, assigned, days=4)  # another mentor's: counted in the hours, not listed here
    response = mentor_client.get(reverse("mentee-detail", args=[assigned.pk]))
    page = text(response)
    assert "<h1>Mo Mentee</h1>" in page
    assert 'href="mailto:mo@example.org"' in page and 'href="tel:07700900123"' in page
    assert "Funded by Student Finance England" in page and "Applies today" in page
    hours = page.split('id="funding"')[1].split("</table>")[0]
    assert [cell.split(">")[-1] for cell in hours.split("</td>")[1:5]] == ["10.00", "1.00", "2.00", "7.00"]
    upcoming, past = page.split('id="upcoming-sessions"')[1].split('id="past-sessions"')
    assert coming.reference in upcoming and "Scheduled" in upcoming and done.reference not in upcoming
    assert done.reference in past and "Completed" in past
    assert theirs.reference not in page
    for private in ("1 Private Road", "PO-SECRET-77", "61.50"):
        assert private not in page
    assert f'href="{reverse("session-book")}?mentee={assigned.pk}"' in page


def test_senior_leadership_see_every_mentors_sessions_with_the_mentee(leader_client, mentor, other_mentor, assigned):
    mine, theirs = session(mentor, assigned, days=3), session(other_mentor, assigned, days=4)
    page = text(leader_client.get(reverse("mentee-detail", args=[assigned.pk])))
    assert mine.reference in page and theirs.reference in page
    assert "Olu Othermentor" in page and "<th scope=\"col\">Mentor</th>" in page


def test_sessions_are_paginated_each_list_on_its_own(mentor_client, mentor, assigned):
    for i in range(SESSIONS_PER_PAGE + 1):
        session(mentor, assigned, days=-1 - i)
    url = reverse("mentee-detail", args=[assigned.pk])
    first = mentor_client.get(url).context["page"]
    assert len(first.past.object_list) == SESSIONS_PER_PAGE and first.past.has_next()
    oldest = ServiceAppointment.objects.order_by("starts_at").first()
    second = mentor_client.get(url, {"past": "2"})
    assert [row.reference for row in second.context["page"].past.object_list] == [oldest.reference]
    assert "Page 2 of 2" in text(second)


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize("who", ["mentor", "leader"])
def test_the_mentee_page_and_list_cost_the_same_queries_with_two_sessions_as_with_forty(
        client, mentor, leader, assigned, who):
    client.force_login(mentor.user if who == "mentor" else leader)
    FundingArrangementFactory(mentee=assigned, hours_allowance=Decimal("50"))
    FundingArrangementFactory(mentee=assigned, self_funded=True, valid_from=date(2019, 1, 1),
                              valid_until=date(2019, 12, 31))
    urls = [reverse("mentee-detail", args=[assigned.pk]), reverse("mentee-list")]

    reason = CancellationReason.objects.first()

    def add(n):
        for i in range(n):
            session(mentor, assigned, days=(i + 1) * (1 if i % 2 else -1),
                    **({"status": Status.CANCELLED, "cancellation_reason": reason,
                       "cancelled_at": timezone.now()} if i % 3 == 0 else {}))

    add(2)
    small = [count_queries(client, url) for url in urls]
    add(38)
    assert [count_queries(client, url) for url in urls] == small
    assert max(small) <= 12


def test_mentee_names_link_to_their_page_where_the_mentor_may_open_it(mentor_client, mentor, assigned):
    stranger = MenteeFactory(full_name="Not Assigned")  # a session booked before assignments, say
    mine, other = session(mentor, assigned, days=2), session(mentor, stranger, days=3)
    home = text(mentor_client.get(reverse("home")))
    assert f'<a href="{reverse("mentee-detail", args=[assigned.pk])}">Mo Mentee</a>' in home
    assert "Not Assigned" in home and reverse("mentee-detail", args=[stranger.pk]) not in home
    assert reverse("mentee-detail", args=[assigned.pk]) in text(mentor_client.get(mine.get_absolute_url()))
    assert reverse("mentee-detail", args=[stranger.pk]) not in text(mentor_client.get(other.get_absolute_url()))
