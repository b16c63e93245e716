import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sessions_app import roles
from sessions_app.models import ServiceAppointment
from sessions_app.selectors import wrap_up_deadline
from sessions_app.services import WrapUp, appointment_finance_complete, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory, MentorFactory, UserFactory

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome
LONDON = ZoneInfo("Europe/London")


def hours_ago(hours):
    return timezone.now().replace(microsecond=0) - timedelta(hours=hours)


def completed(mentor, start, minutes=60, outcome=Outcome.ATTENDED, **extra):
    return AppointmentFactory(
        mentor=mentor, starts_at=start, ends_at=start + timedelta(minutes=minutes), status=Status.COMPLETED,
        outcome=outcome, wrapped_up_at=start + timedelta(hours=2), wrapped_up_by=mentor.user, **extra,
    )


def text_of(html):
    """What a person reads: the tags taken out, the spaces between words made one."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def sa_links(html):
    return re.findall(r'class="sa-link" href="/appointments/(SA-\d+)/"', html)


@pytest.mark.parametrize("url", ["/", "/calendar/", "/dashboard/", "/appointments/SA-000001/"])
def test_pages_ask_for_log_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_logging_in_with_email_address_reaches_the_homepage(client, mentor):
    response = client.post("/accounts/login/", {"username": "ANN@example.com", "password": "correct-horse-battery"})
    assert response.status_code == 302 and response.url == "/"
    assert "My sessions" in client.get("/").content.decode()


def test_wrong_password_says_so(client, mentor):
    response = client.post("/accounts/login/", {"username": "ann@example.com", "password": "nope"})
    assert "Please enter a correct email address and password" in response.content.decode()


class TestHomepage:
    def test_lists_started_sessions_not_wrapped_up_oldest_first(self, mentor_client, mentor):
        newer = AppointmentFactory(mentor=mentor, starts_at=hours_ago(5), ends_at=hours_ago(4))
        older = AppointmentFactory(mentor=mentor, starts_at=hours_ago(50), ends_at=hours_ago(49))
        completed(mentor, hours_ago(30))
        AppointmentFactory(mentor=mentor, starts_at=hours_ago(80), ends_at=hours_ago(79), status=Status.CANCELLED,
                           cancelled_at=hours_ago(100), cancellation_reason_id=1)
        html = mentor_client.get("/").content.decode()
        section = html.split('id="to-wrap-up"')[1].split("</section>")[0]
        assert sa_links(section) == [older.reference, newer.reference]
        assert 'class="count">2<' in section

    def test_says_how_many_days_until_the_month_end_deadline(self, mentor_client):
        html = mentor_client.get("/").content.decode()
        deadline = wrap_up_deadline(timezone.localdate(), now=timezone.now())
        if deadline.passed:
            assert "The deadline was 20:00 today" in html
        elif deadline.is_today:
            assert "Today is the deadline" in html
        else:
            assert f"{deadline.days_left} day" in html
            assert deadline.day.strftime("%-d %B") in html

    @pytest.mark.parametrize("clock, says", [
        ((11, 28, 9, 0), "Wrap up by Monday 30 November: 2 days left."),
        ((11, 30, 9, 0), "Today is the deadline: invoices are generated at 20:00 today."),
        ((11, 30, 20, 5), "The deadline was 20:00 today, when this month's invoices are generated: sessions wrapped up "
                          "from now on are invoiced and paid next month."),
    ])
    def test_the_deadline_gives_the_time_the_month_end_job_runs(self, client, mentor, clock, says):
        month, day, hour, minute = clock
        with time_machine.travel(datetime(2026, month, day, hour, minute, tzinfo=LONDON), tick=False):
            client.force_login(mentor.user)  # a log-in of that day: it lasts 8 hours
            html = client.get("/").content.decode().replace("&#x27;", "'")
        deadline = text_of(html.split('class="deadline')[1].split("</p>")[0].split(">", 1)[1])
        assert deadline == says

    def test_the_deadline_time_follows_the_schedule(self, client, mentor, monkeypatch):
        from celery.schedules import crontab

        from mentoring.schedule import PERIODIC_JOBS

        monkeypatch.setitem(PERIODIC_JOBS["month-end"], "schedule", crontab(hour=18, minute=30, day_of_month="28-31"))
        with time_machine.travel(datetime(2026, 11, 30, 9, 0, tzinfo=LONDON), tick=False):
            client.force_login(mentor.user)
            html = client.get("/").content.decode()
        assert "Today is the deadline: invoices are generated at 18:30 today." in html

    def test_deadline_is_the_last_day_of_the_month(self):
        assert wrap_up_deadline(date(2026, 11, 25)).day == date(2026, 11, 30)
        assert wrap_up_deadline(date(2026, 11, 25)).days_left == 5
        assert wrap_up_deadline(date(2028, 2, 29)).is_today

    def test_shows_todays_and_upcoming_sessions(self, mentor_client, mentor):
        now = timezone.localtime()
        later_today = AppointmentFactory(mentor=mentor, starts_at=now.replace(hour=23, minute=0, second=0, microsecond=0),
                                         ends_at=now.replace(hour=23, minute=30, second=0, microsecond=0))
        next_week = AppointmentFactory(mentor=mentor, starts_at=now + timedelta(days=7), ends_at=now + timedelta(days=7, hours=1))
        html = mentor_client.get("/").content.decode()
        today = html.split('id="today"')[1].split("</section>")[0]
        upcoming = html.split('id="upcoming"')[1].split("</section>")[0]
        assert later_today.reference in today
        assert sa_links(upcoming) == [next_week.reference]

    def test_mentor_never_sees_another_mentors_sessions(self, mentor_client, other_mentor):
        theirs = AppointmentFactory(mentor=other_mentor, starts_at=hours_ago(3), ends_at=hours_ago(2))
        assert theirs.reference not in mentor_client.get("/").content.decode()

    def test_senior_leadership_sees_every_mentors_sessions_to_wrap_up(self, leader_client, mentor, other_mentor):
        mine = AppointmentFactory(mentor=mentor, starts_at=hours_ago(3), ends_at=hours_ago(2))
        theirs = AppointmentFactory(mentor=other_mentor, starts_at=hours_ago(6), ends_at=hours_ago(5))
        html = leader_client.get("/").content.decode()
        assert "Sessions across all mentors" in html
        assert sa_links(html.split('id="to-wrap-up"')[1].split("</section>")[0]) == [theirs.reference, mine.reference]
        assert "with Ann Mentor" in html


class TestCalendar:
    def test_month_grid_shows_each_session_with_its_sa_link_and_status(self, mentor_client, mentor):
        start = timezone.make_aware(timezone.datetime(2026, 3, 10, 14, 0))
        appointment = AppointmentFactory(mentor=mentor, starts_at=start, ends_at=start + timedelta(hours=1))
        html = mentor_client.get("/calendar/2026/3/").content.decode()
        assert "March 2026" in html
        assert sa_links(html) == [appointment.reference]
        assert 'class="badge badge--scheduled">Scheduled<' in html
        assert 'href="/calendar/2026/2/"' in html and 'href="/calendar/2026/4/"' in html

    def test_previous_and_next_cross_the_year(self, mentor_client):
        html = mentor_client.get("/calendar/2027/1/").content.decode()
        assert 'href="/calendar/2026/12/"' in html and 'href="/calendar/2027/2/"' in html

    def test_grid_runs_monday_to_sunday_over_whole_weeks(self, mentor_client):
        response = mentor_client.get("/calendar/2026/11/")
        weeks = response.context["grid"].weeks
        assert weeks[0][0].day == date(2026, 10, 26) and weeks[-1][-1].day == date(2026, 12, 6)
        assert all(len(week) == 7 for week in weeks)

    def test_session_near_midnight_lands_on_its_london_day(self, mentor_client, mentor):
        # 23:30 BST on 31 May is 22:30 UTC: it belongs to 31 May, not 1 June.
        start = timezone.make_aware(timezone.datetime(2026, 5, 31, 23, 30))
        appointment = AppointmentFactory(mentor=mentor, starts_at=start, ends_at=start + timedelta(minutes=30))
        grid = mentor_client.get("/calendar/2026/5/").context["grid"]
        cell = next(c for week in grid.weeks for c in week if c.day == date(2026, 5, 31))
        assert [a.reference for a in cell.appointments] == [appointment.reference]

    @pytest.mark.postgres
    def test_sessions_in_the_first_two_hours_of_a_summer_day_are_on_the_calendar(self, mentor_client, mentor):
        # 12 May is British Summer Time: its day begins at 23:00 UTC on 11 May. PostgreSQL's calendar query once
        # began it at 01:00 UTC (02:00 BST), so sessions from midnight to 01:59 were on no day at all.
        def at(hour, minute):
            start = timezone.make_aware(timezone.datetime(2026, 5, 12, hour, minute))
            return AppointmentFactory(mentor=mentor, starts_at=start, ends_at=start + timedelta(minutes=30))

        sessions = [at(0, 0), at(0, 30), at(1, 59), at(2, 0)]
        response = mentor_client.get("/calendar/2026/5/")
        cell = next(c for week in response.context["grid"].weeks for c in week if c.day == date(2026, 5, 12))
        assert [(a.reference, a.time) for a in cell.appointments] == [
            (sessions[0].reference, "00:00"), (sessions[1].reference, "00:30"),
            (sessions[2].reference, "01:59"), (sessions[3].reference, "02:00")]
        assert response.context["grid"].total == 4
        assert sa_links(response.content.decode()) == [s.reference for s in sessions]

    def test_a_busy_day_shows_its_first_sessions_and_counts_the_rest(self, mentor_client, leader, mentor,
                                                                      other_mentor):
        from sessions_app.selectors import CALENDAR_DAY_LIMIT

        # 09:00 to 16:00 London time on 12 May (BST); another mentor's session at 06:00 and one the next day.
        day = [AppointmentFactory(mentor=mentor, starts_at=timezone.make_aware(timezone.datetime(2026, 5, 12, 16 - i)),
                                  ends_at=timezone.make_aware(timezone.datetime(2026, 5, 12, 16 - i, 45)))
               for i in range(CALENDAR_DAY_LIMIT + 2)]
        early = AppointmentFactory(mentor=other_mentor, starts_at=timezone.make_aware(timezone.datetime(2026, 5, 12, 6)),
                                   ends_at=timezone.make_aware(timezone.datetime(2026, 5, 12, 7)))
        AppointmentFactory(mentor=mentor, starts_at=timezone.make_aware(timezone.datetime(2026, 5, 13, 0, 30)),
                           ends_at=timezone.make_aware(timezone.datetime(2026, 5, 13, 1)))
        by_time = sorted(day, key=lambda a: a.starts_at)

        response = mentor_client.get("/calendar/2026/5/")
        cell = next(c for week in response.context["grid"].weeks for c in week if c.day == date(2026, 5, 12))
        assert [a.reference for a in cell.appointments] == [a.reference for a in by_time[:CALENDAR_DAY_LIMIT]]
        assert cell.hidden == 2 and "+2 more" in response.content.decode()
        assert [a.time for a in cell.appointments][:2] == ["09:00", "10:00"]

        leader_client = Client()
        leader_client.force_login(leader)
        html = leader_client.get("/calendar/2026/5/").content.decode()
        assert sa_links(html)[0] == early.reference and "+3 more" in html
        assert f"{early.mentee.full_name} · {other_mentor.user.full_name}" in html

    def test_senior_leadership_picks_a_mentor_from_every_mentor_by_name(self, leader_client, mentor, other_mentor):
        html = leader_client.get("/calendar/", {"mentor": other_mentor.pk}).content.decode()
        options = re.findall(r'<option value="(\d*)"( selected)?>([^<]*)</option>', html)
        assert options[0] == ("", "", "Every mentor")
        names = sorted([mentor, other_mentor], key=lambda m: m.user.full_name)
        assert [(int(pk), name) for pk, _, name in options[1:]] == [(m.pk, m.user.full_name) for m in names]
        assert [name for _, selected, name in options if selected] == [other_mentor.user.full_name]

    def test_impossible_month_is_not_found(self, mentor_client):
        assert mentor_client.get("/calendar/2026/13/").status_code == 404

    def test_another_mentors_sessions_are_not_on_my_calendar(self, mentor_client, other_mentor):
        theirs = AppointmentFactory(mentor=other_mentor)
        local = timezone.localtime(theirs.starts_at)
        assert theirs.reference not in mentor_client.get(f"/calendar/{local.year}/{local.month}/").content.decode()

    def test_senior_leadership_can_filter_by_mentor(self, leader_client, mentor, other_mentor):
        mine, theirs = AppointmentFactory(mentor=mentor), AppointmentFactory(mentor=other_mentor)
        local = timezone.localtime(mine.starts_at)
        url = f"/calendar/{local.year}/{local.month}/"
        both = leader_client.get(url).content.decode()
        assert mine.reference in both and theirs.reference in both
        only_mine = leader_client.get(url, {"mentor": mentor.pk}).content.decode()
        assert mine.reference in only_mine and theirs.reference not in only_mine


class TestDashboard:
    def test_counts_hours_and_pay_for_the_month(self, mentor_client, mentor):
        mentor.hourly_pay_rate = Decimal("30.00")
        mentor.save()
        first = timezone.make_aware(timezone.datetime(2026, 4, 6, 10, 0))
        completed(mentor, first, minutes=60)  # £30
        completed(mentor, first + timedelta(days=1), minutes=45, outcome=Outcome.DID_NOT_ATTEND)  # £22.50
        completed(mentor, first + timedelta(days=2), minutes=60, outcome=Outcome.CANCELLED)  # not paid
        AppointmentFactory(mentor=mentor, starts_at=first + timedelta(days=3), ends_at=first + timedelta(days=3, minutes=90))
        response = mentor_client.get("/dashboard/", {"month": "2026-04"})
        board = response.context["board"]
        assert {row.status: row.count for row in board.by_status} == {
            "scheduled": 1, "awaiting_finance": 0, "completed": 2, "cancelled": 1}
        assert board.mentor_month.pay == Decimal("52.50")
        assert board.mentor_month.booked_hours == Decimal("4.25")
        assert board.mentor_month.wrapped_up_hours == Decimal("2.75")
        html = response.content.decode()
        assert "£52.50" in html and "April 2026" in html
        assert len(sa_links(html)) == 4

    def test_the_sessions_table_gives_each_duration_under_a_duration_heading(self, mentor_client, mentor):
        first = timezone.make_aware(timezone.datetime(2026, 4, 6, 10, 0))
        completed(mentor, first, minutes=60)
        completed(mentor, first + timedelta(days=1), minutes=55)
        html = mentor_client.get("/dashboard/", {"month": "2026-04"}).content.decode()
        table = html.split('id="pay"')[1].split("</table>")[0]
        headings = [text_of(cell) for cell in re.findall(r'<th scope="col"[^>]*>(.*?)</th>', table)]
        assert headings == ["Session", "Date", "Mentee", "Status", "Duration", "Pay"]
        assert re.findall(r'<td data-label="Duration"[^>]*>(.*?)</td>', table) == ["1 h 00 min", "0 h 55 min"]

    def test_bad_month_falls_back_to_this_month_with_a_message(self, mentor_client):
        response = mentor_client.get("/dashboard/", {"month": "2026-13"})
        assert response.status_code == 200
        assert "“2026-13” is not a month (use YYYY-MM" in response.content.decode()
        assert response.context["board"].first == timezone.localdate().replace(day=1)

    def test_senior_leadership_sees_every_mentor_with_sessions_to_wrap_up(self, leader_client, mentor, other_mentor):
        AppointmentFactory(mentor=mentor, starts_at=hours_ago(3), ends_at=hours_ago(2))
        AppointmentFactory(mentor=mentor, starts_at=hours_ago(30), ends_at=hours_ago(29))
        AppointmentFactory(mentor=other_mentor)  # future: nothing to wrap up
        board = leader_client.get("/dashboard/").context["board"]
        assert [(row.mentor, row.outstanding) for row in board.mentors_outstanding] == [(mentor, 2)]

    def test_mentor_does_not_see_the_leadership_table(self, mentor_client):
        assert "Mentors with sessions still to wrap up" not in mentor_client.get("/dashboard/").content.decode()


class TestAppointmentPage:
    def test_shows_every_field_and_its_history(self, mentor_client, past_appointment):
        html = mentor_client.get(past_appointment.get_absolute_url()).content.decode()
        for text in (past_appointment.reference, "Ann Mentor", "Mo Mentee", "Room 2, The Library", "60 minutes booked",
                     "Scheduled", "Booked</strong>"):
            assert text in html

    def test_wrap_up_is_offered_once_the_session_has_started(self, mentor_client, past_appointment):
        html = mentor_client.get(past_appointment.get_absolute_url()).content.decode()
        assert "Wrap Up Session" in html and "Cancel Session" not in html

    def test_cancel_is_offered_before_the_session_starts(self, mentor_client, future_appointment):
        html = mentor_client.get(future_appointment.get_absolute_url()).content.decode()
        assert "Cancel Session" in html and "Wrap Up Session" not in html

    def test_no_actions_on_a_completed_session(self, mentor_client, mentor):
        appointment = completed(mentor, hours_ago(30))
        html = mentor_client.get(appointment.get_absolute_url()).content.decode()
        assert "Wrap Up Session" not in html and "Cancel Session" not in html
        assert "Wrapped up by Ann Mentor" not in html  # the mentor wrapped up their own: no "on behalf"
        assert "on behalf of" not in html

    def test_on_behalf_is_shown_when_someone_else_wrapped_up(self, mentor_client, mentor, leader):
        appointment = completed(mentor, hours_ago(30))
        ServiceAppointment.objects.filter(pk=appointment.pk).update(wrapped_up_by=leader)
        html = mentor_client.get(appointment.get_absolute_url()).content.decode()
        assert "Lee Leader on behalf of Ann Mentor" in html

    def test_history_says_who_in_finance_completed_the_wrap_up(self, mentor_client, mentor, mentee, past_appointment):
        fiona = UserFactory(full_name="Fiona Grant", roles=[roles.FINANCE])
        appointment_wrap_up(appointment_id=past_appointment.pk, acting_user=mentor.user,
                            answers=WrapUp(outcome="did_not_attend", admin_details="No funding on file."))
        arrangement = FundingArrangementFactory(mentee=mentee, self_funded=True)
        appointment_finance_complete(appointment_id=past_appointment.pk, acting_user=fiona,
                                     funding_arrangement=arrangement, reply="Added.")
        history = text_of(mentor_client.get(past_appointment.get_absolute_url()).content.decode()
                          .split('id="history"')[1])
        assert "Completed by Fiona Grant (Finance): Self-funded. Added." in history
        assert "by Finance by" not in history

    def test_a_session_recorded_as_cancelled_needs_no_funding_and_counts_as_cancelled(
            self, mentor_client, leader, mentor, past_appointment):
        appointment_wrap_up(appointment_id=past_appointment.pk, acting_user=leader,
                            answers=WrapUp(outcome="cancelled", session_notes="Mentee was in hospital."))
        html = mentor_client.get(past_appointment.get_absolute_url()).content.decode()
        assert "<dt>Funding Type</dt><dd>Not needed (cancelled)</dd>" in html
        assert "Missing: with Finance" not in html
        local = timezone.localtime(past_appointment.starts_at)
        board = mentor_client.get("/dashboard/", {"month": f"{local:%Y-%m}"}).context["board"]
        counts = {row.label: row.count for row in board.by_status}
        assert counts["Cancelled"] == 1 and counts["Completed"] == 0 and board.total == 1

    def test_senior_leadership_can_act_on_any_mentors_session(self, leader_client, past_appointment):
        assert "Wrap Up Session" in leader_client.get(past_appointment.get_absolute_url()).content.decode()

    def test_lower_case_reference_redirects_to_the_canonical_address(self, mentor_client, past_appointment):
        response = mentor_client.get(f"/appointments/{past_appointment.reference.lower()}/")
        assert response.status_code == 302 and response.url == past_appointment.get_absolute_url()

    @pytest.mark.parametrize("suffix", ["", "wrap-up/", "cancel/"])
    def test_another_mentors_session_is_not_found(self, mentor_client, other_mentor, suffix):
        theirs = AppointmentFactory(mentor=other_mentor, starts_at=hours_ago(3), ends_at=hours_ago(2))
        assert mentor_client.get(f"{theirs.get_absolute_url()}{suffix}").status_code == 404

    def test_wrap_up_before_the_start_explains_when_it_can_be_done(self, mentor_client, future_appointment):
        response = mentor_client.get(reverse("appointment-wrap-up", args=[future_appointment.reference]), follow=True)
        assert f"{future_appointment.reference} has not started yet. You can wrap it up from" in response.content.decode()


class TestQueryCounts:
    """Each page costs the same number of queries with 10 appointments as with 60."""

    @staticmethod
    def _count(client, url, django_assert_num_queries=None):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    @pytest.mark.parametrize("who", ["mentor", "leader"])
    def test_pages_do_not_grow_with_appointments(self, client, mentor, leader, who):
        user = mentor.user if who == "mentor" else leader
        client.force_login(user)
        nine_today = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
        days = [-10, -3, 0, 3, 9]  # whatever today is, the first ten already have every kind the next fifty add

        def add(n):
            for i in range(n):
                start = nine_today + timedelta(days=days[(i // 2) % len(days)], minutes=i)
                AppointmentFactory(mentor=MentorFactory() if i % 2 else mentor, starts_at=start,
                                   ends_at=start + timedelta(hours=1))

        add(10)
        a = ServiceAppointment.objects.filter(mentor=mentor).first()
        urls = ["/", "/calendar/", "/dashboard/", a.get_absolute_url(), f"/dashboard/?mentor={mentor.pk}"]
        small = [self._count(client, url) for url in urls]
        add(50)
        large = [self._count(client, url) for url in urls]
        assert small == large
        assert max(large) <= 10


def test_leadership_list_of_mentors_is_capped_but_counts_them_all(mentor, other_mentor):
    from sessions_app.selectors import mentors_with_sessions_to_wrap_up

    AppointmentFactory(mentor=mentor, starts_at=hours_ago(30), ends_at=hours_ago(29))
    AppointmentFactory(mentor=other_mentor, starts_at=hours_ago(3), ends_at=hours_ago(2))
    rows, total = mentors_with_sessions_to_wrap_up(limit=1)
    assert [row.mentor for row in rows] == [mentor] and total == 2


def test_homepage_lists_the_oldest_fifty_and_counts_them_all(mentor_client, mentor):
    from sessions_app.selectors import HOMEPAGE_LIST_LIMIT

    for i in range(HOMEPAGE_LIST_LIMIT + 3):
        AppointmentFactory(mentor=mentor, starts_at=hours_ago(100 + i), ends_at=hours_ago(99 + i))
    response = mentor_client.get("/")
    page = response.context["page"]
    assert page.to_wrap_up_count == HOMEPAGE_LIST_LIMIT + 3 and len(page.to_wrap_up) == HOMEPAGE_LIST_LIMIT
    assert f"{HOMEPAGE_LIST_LIMIT + 3} in all; the oldest {HOMEPAGE_LIST_LIMIT} are shown." in response.content.decode()
