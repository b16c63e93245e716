"""The page cache (mentoring/page_cache.py) on a real Redis: a page seen again is served without touching the
database, and any committed write, log-out or turn of the minute shows the change on the very next view."""

import os
from datetime import timedelta

import pytest
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from invoicing.bulk import insert_rows
from mentoring import page_cache
from sessions_app.models import CancellationReason, ServiceAppointment
from sessions_app.services import WrapUp, appointment_cancel, appointment_wrap_up
from tests.conftest import page_cache_on, require
from tests.factories import AppointmentFactory, MentorFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pages(settings):
    url = os.environ.get("REDIS_URL")
    if not url:
        require("redis", "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0")
    yield from page_cache_on(settings, url)


@pytest.fixture
def seen(django_assert_num_queries):
    """GET a page as a browser that has seen it before would (the CSRF cookie already held); then the same GET
    again, which must come from the cache without a single query. Gives that second response's HTML."""

    def get(client, url):
        client.get(url)
        first = client.get(url)
        assert first.status_code == 200
        with django_assert_num_queries(0):
            again = client.get(url)
        assert again.content == first.content
        return again.content.decode()

    return get


def _appointment(mentor, mentee, hours_from_now):
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=hours_from_now)
    return AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))


def test_a_page_seen_again_comes_from_the_cache_with_the_same_headers(pages, seen, mentor_client, mentor, mentee):
    appointment = _appointment(mentor, mentee, -3)
    html = seen(mentor_client, "/")
    assert appointment.reference in html
    response = mentor_client.get("/")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src" in response["Content-Security-Policy"]


def test_a_wrap_up_shows_on_the_next_view_of_every_cached_page(pages, seen, mentor_client, mentor, mentee, leader):
    appointment = _appointment(mentor, mentee, -3)
    detail = appointment.get_absolute_url()
    assert "Scheduled" in seen(mentor_client, detail)
    assert 'Still to wrap up <span class="count">1</span>' in seen(mentor_client, "/")

    appointment_wrap_up(appointment_id=appointment.pk, acting_user=leader,
                        answers=WrapUp(outcome="cancelled", funding_arrangement=None, session_notes="Rained off"))

    html = mentor_client.get(detail).content.decode()
    assert "Scheduled" not in html and "Rained off" in html
    assert 'Still to wrap up <span class="count">0</span>' in mentor_client.get("/").content.decode()


def test_writes_that_bypass_the_models_still_end_cached_pages(pages, seen, mentor_client, mentor, mentee):
    appointment = _appointment(mentor, mentee, 5)
    seen(mentor_client, "/")
    ServiceAppointment.objects.filter(pk=appointment.pk).update(location="Room 101, Queue Update")
    assert "Room 101, Queue Update" in mentor_client.get(appointment.get_absolute_url()).content.decode()

    seen(mentor_client, appointment.get_absolute_url())
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sessions_app_serviceappointment SET location = %s WHERE id = %s",
                       ["Hall B, Raw SQL", appointment.pk])
    assert "Hall B, Raw SQL" in mentor_client.get(appointment.get_absolute_url()).content.decode()


@pytest.mark.postgres
def test_rows_copied_in_bulk_end_cached_pages(pages, seen, mentor_client, mentor, mentee):
    seen(mentor_client, "/calendar/")
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)
    insert_rows(ServiceAppointment, ["reference", "mentor_id", "mentee_id", "starts_at", "ends_at", "status"],
                [("SA-990001", mentor.pk, mentee.pk, start, start + timedelta(hours=1), "scheduled")])
    assert "SA-990001" in mentor_client.get("/calendar/").content.decode()


def test_a_rolled_back_write_keeps_the_cached_page(pages, seen, mentor_client, mentor, mentee, django_assert_num_queries):
    appointment = _appointment(mentor, mentee, 5)
    seen(mentor_client, "/")
    with pytest.raises(RuntimeError), transaction.atomic():
        ServiceAppointment.objects.filter(pk=appointment.pk).update(location="Never happened")
        raise RuntimeError("rolled back")
    with django_assert_num_queries(0):
        assert mentor_client.get("/").status_code == 200


def test_each_log_in_has_its_own_pages(pages, seen, client, mentor, mentee):
    theirs = MentorFactory(user__full_name="Tess Other")
    mine = _appointment(mentor, mentee, 5)
    other = _appointment(theirs, mentee, 6)
    client.force_login(mentor.user)
    html = seen(client, "/")
    assert mine.reference in html and other.reference not in html

    client.force_login(theirs.user)
    client.get("/")
    html = client.get("/").content.decode()
    assert other.reference in html and mine.reference not in html


def test_after_log_out_the_old_cookie_gets_the_log_in_page_not_the_cached_one(pages, seen, client, mentor):
    client.force_login(mentor.user)
    seen(client, "/")
    cookie = client.cookies["sessionid"].value
    client.post("/accounts/logout/")
    client.cookies["sessionid"] = cookie
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_is_rendered_again_when_the_minute_turns(pages, seen, mentor_client, monkeypatch,
                                                           django_assert_num_queries):
    seen(mentor_client, "/")
    monkeypatch.setattr(page_cache, "_minute", lambda: 10**9)
    response = mentor_client.get("/")
    assert response.status_code == 200 and response.context is not None  # rendered, not served from Redis
    with django_assert_num_queries(0):
        mentor_client.get("/")


def test_a_waiting_message_is_shown_even_over_a_cached_page(pages, seen, mentor_client, mentor):
    seen(mentor_client, "/")
    storage = CookieStorage(RequestFactory().get("/"))
    storage.add(messages.SUCCESS, "Thanks, your wrap-up is saved.")
    carrier = HttpResponse()
    storage.update(carrier)
    mentor_client.cookies[CookieStorage.cookie_name] = carrier.cookies[CookieStorage.cookie_name].value
    assert "Thanks, your wrap-up is saved." in mentor_client.get("/").content.decode()


def test_only_pages_marked_for_it_are_kept(pages, leader_client):
    leader_client.get("/accounts/locked-out/")
    leader_client.get("/accounts/locked-out/")
    response = leader_client.get("/accounts/locked-out/")
    assert response.status_code == 200 and response.context is not None


def test_a_cancellation_shows_on_the_cached_calendar(pages, seen, mentor_client, mentor, mentee):
    appointment = _appointment(mentor, mentee, 48)
    month = timezone.localtime(appointment.starts_at)
    url = f"/calendar/{month.year}/{month.month}/"
    assert appointment.reference in seen(mentor_client, url)
    appointment_cancel(appointment_id=appointment.pk, acting_user=mentor.user,
                       reason=CancellationReason.objects.filter(is_active=True).first(), internal_note="Ill")
    assert "Cancelled" in mentor_client.get(url).content.decode()


def test_with_redis_unreachable_pages_render_and_writes_succeed(settings, mentor_client, mentor, mentee):
    settings.CACHES = {**settings.CACHES, settings.PAGE_CACHE_ALIAS: {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    settings.PAGE_CACHE = True
    appointment = _appointment(mentor, mentee, 5)
    for _ in range(3):
        assert appointment.reference in mentor_client.get("/").content.decode()
    ServiceAppointment.objects.filter(pk=appointment.pk).update(location="Still saved")
    assert "Still saved" in mentor_client.get(appointment.get_absolute_url()).content.decode()
