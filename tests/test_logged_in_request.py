"""What every logged-in request pays before its own work: its session and its user, whose roles come in the
user's query (sessions_app/backends.py), and with Redis not even the session (tests/test_sessions.py)."""

import pytest
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group, Permission
from django.http import JsonResponse
from django.urls import path

from mentoring.urls import urlpatterns as project_urlpatterns
from sessions_app import roles
from sessions_app.context_processors import roles as roles_in_the_navigation
from tests.factories import UserFactory
from tests.test_sessions import redis_sessions  # noqa: F401  (a fixture)


@login_required
def what_the_navigation_asks(request):
    """What every page's navigation asks of the user, and nothing else."""
    return JsonResponse(roles_in_the_navigation(request))


urlpatterns = [path("navigation", what_the_navigation_asks), *project_urlpatterns]

# A mentor: nothing special, but a "My details" page of their own.
NOBODY_SPECIAL = {"sees_all_appointments": False, "can_use_admin": False, "can_unlock_accounts": False,
                  "has_my_details": True}
EVERYTHING = {"sees_all_appointments": True, "can_use_admin": True, "can_unlock_accounts": True,
              "has_my_details": False}


@pytest.fixture
def people(mentor, leader, finance_user):
    superuser = UserFactory(full_name="Sam Super", is_superuser=True)
    return {"mentor": mentor.user, "leader": leader, "finance": finance_user, "superuser": superuser}


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(("who", "expected"), [
    ("mentor", NOBODY_SPECIAL),
    ("leader", {"sees_all_appointments": True, "can_use_admin": False, "can_unlock_accounts": True,
                                  "has_my_details": False}),
    ("finance", EVERYTHING),
    ("superuser", EVERYTHING),
])
def test_without_redis_a_logged_in_page_pays_two_queries_for_the_session_and_the_user_with_their_roles(
        settings, client, people, who, expected, django_assert_num_queries):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"  # as without REDIS_URL
    client.force_login(people[who])
    with django_assert_num_queries(2) as captured:
        response = client.get("/navigation")
    assert response.json() == expected
    assert "django_session" in captured[0]["sql"] and "sessions_app_user" in captured[1]["sql"]


@pytest.mark.redis
@pytest.mark.urls(__name__)
def test_with_redis_a_logged_in_page_pays_one_query_for_the_user_with_their_roles(
        redis_sessions, client, leader, django_assert_num_queries):  # noqa: F811
    client.force_login(leader)
    client.get("/navigation")
    with django_assert_num_queries(1):
        response = client.get("/navigation")
    assert response.json() == {"sees_all_appointments": True, "can_use_admin": False, "can_unlock_accounts": True,
                                  "has_my_details": False}


@pytest.mark.urls(__name__)
def test_a_role_given_or_taken_away_counts_from_the_next_request(client, mentor):
    client.force_login(mentor.user)
    assert client.get("/navigation").json() == NOBODY_SPECIAL
    mentor.user.groups.add(Group.objects.get(name=roles.SENIOR_LEADERSHIP))
    assert client.get("/navigation").json()["sees_all_appointments"] is True
    mentor.user.groups.remove(Group.objects.get(name=roles.SENIOR_LEADERSHIP))
    assert client.get("/navigation").json() == NOBODY_SPECIAL


@pytest.mark.urls(__name__)
def test_a_permission_given_to_the_user_alone_counts_too(client, mentor):
    client.force_login(mentor.user)
    mentor.user.user_permissions.add(Permission.objects.get(codename="unlock_accounts"))
    assert client.get("/navigation").json() == {**NOBODY_SPECIAL, "can_unlock_accounts": True}


@pytest.mark.urls(__name__)
def test_a_user_switched_off_is_logged_out(client, mentor):
    client.force_login(mentor.user)
    mentor.user.is_active = False
    mentor.user.save()
    response = client.get("/navigation")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/navigation")
