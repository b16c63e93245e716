"""Senior Leadership (and Finance) see who is locked out after failed log-ins and unlock them, from the site."""

import html as html_lib
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mentoring.middleware import LOCKOUT_MESSAGE
from tests.factories import PASSWORD

PAGE, UNLOCK = "/accounts/locked-out/", "/accounts/locked-out/unlock/"
WRONG = "not-the-password"


def log_in(email, password=PASSWORD, ip="10.0.0.1"):
    return Client().post(reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip)


def lock_out(email, ip="10.0.0.1", times=5):
    for _ in range(times):
        log_in(email, WRONG, ip)


def text(response):
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def rows(response) -> list[str]:
    """Each row of the page's table, as text."""
    body = response.content.decode().split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    return [" ".join(text_of_row.split()) for text_of_row in
            (html_lib.unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S))]


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def unlock(client, data) -> tuple:
    """POST an unlock; the response and the messages it leaves (read, as the page they go back to shows them)."""
    response = client.post(UNLOCK, data)
    said = messages_of(response)
    client.get(PAGE)
    return response, said


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def attempts():
    return sorted(AccessAttempt.objects.values_list("username", "ip_address", "failures_since_start"))


@pytest.fixture(params=["leader", "finance_user"])
def unlocker(request):
    """Senior Leadership, and Finance, who may do the same."""
    user = request.getfixturevalue(request.param)
    client = signed_in(user)
    client.user = user
    return client


def test_a_locked_out_mentor_is_unlocked_and_can_log_in_again(unlocker, mentor, other_mentor):
    lock_out(mentor.user.email)
    response = log_in(mentor.user.email)
    assert response.status_code == 429 and LOCKOUT_MESSAGE in response.content.decode()
    # The lock-out page tells them who can unlock them.
    assert "ask Senior Leadership to unlock it" in LOCKOUT_MESSAGE

    page = unlocker.get(PAGE)
    assert page.status_code == 200
    [row] = rows(page)
    attempt_time = AccessAttempt.objects.get().attempt_time
    # An hour later in real time, which across a clock change is not the wall clock's hour later.
    last_try, opens = timezone.localtime(attempt_time), timezone.localtime(attempt_time + timedelta(hours=1))
    # Five failed log-ins, and the one with the right password that the lock-out refused.
    assert row == (f"ann@example.com Ann Mentor 6 {last_try:%a} {last_try.day} {last_try:%b %Y, %H:%M} "
                   f"{opens:%H:%M} Unlock ann@example.com")

    response = unlocker.post(UNLOCK, {"email": "ann@example.com"})
    assert response.status_code == 302 and response["Location"] == PAGE
    assert messages_of(response) == ["ann@example.com can log in again."]
    page = unlocker.get(PAGE)
    assert "ann@example.com can log in again." in text(page)
    assert rows(page) == [] and "No account is locked out." in text(page)
    assert attempts() == []

    assert log_in(mentor.user.email, WRONG).status_code == 200, "a wrong password is refused, not locked out"
    response = log_in(mentor.user.email)
    assert response.status_code == 302 and response["Location"] == reverse("home")

    # Who unlocked whom is in the account's history in the admin.
    [entry] = LogEntry.objects.all()
    assert (entry.user, entry.object_id, entry.action_flag) == (unlocker.user, str(mentor.user.pk), CHANGE)
    assert entry.get_change_message() == (
        f"Unlocked after 6 failed log-ins (the last at {last_try.day} {last_try:%B %Y, %H:%M}).")


def test_the_page_lists_every_locked_out_address_and_only_those(leader, mentor, other_mentor, finance_user):
    leader_client = signed_in(leader)
    lock_out(mentor.user.email, ip="10.0.0.1")
    lock_out(mentor.user.email, ip="10.0.0.2", times=6)  # locked out at a second address too: one row
    lock_out("nobody@example.com")  # no account has it; still locked out
    lock_out(other_mentor.user.email, times=4)  # one try short: not locked out
    lock_out(finance_user.email)
    AccessAttempt.objects.filter(username=finance_user.email).update(  # its hour is up: open again
        attempt_time=timezone.now() - timedelta(hours=1, minutes=1))

    listed = rows(leader_client.get(PAGE))
    assert [row.split(" ")[:4] for row in listed] == [
        ["nobody@example.com", "No", "account", "has"], ["ann@example.com", "Ann", "Mentor", "11"]]

    assert unlock(leader_client, {"email": "ann@example.com"})[1] == ["ann@example.com can log in again."]
    assert log_in(mentor.user.email, ip="10.0.0.2").status_code == 302, "unlocked from every address"
    assert [row.split(" ")[0] for row in rows(leader_client.get(PAGE))] == ["nobody@example.com"]
    # (axes itself forgets the expired lock-out at the next log-in.)
    assert attempts() == [("nobody@example.com", "10.0.0.1", 5), ("olu@example.com", "10.0.0.1", 4)]


def test_unlocking_an_address_that_is_not_locked_out_says_so_and_changes_nothing(leader_client, mentor,
                                                                                   other_mentor):
    lock_out(other_mentor.user.email, times=2)
    before = attempts()
    for email, shown in [("olu@example.com", "olu@example.com"), ("ann@example.com", "ann@example.com"),
                         (" Ann@Example.com ", "ann@example.com"), ("someone@example.com", "someone@example.com")]:
        response, said = unlock(leader_client, {"email": email})
        assert response.status_code == 302 and response["Location"] == PAGE
        assert said == [
            f"{shown} is not locked out, so there was nothing to unlock: they can log in."]
        assert attempts() == before
    assert not LogEntry.objects.exists()


def test_unlocking_from_a_page_someone_else_already_acted_on_says_it_is_not_locked(leader, finance_user, mentor):
    lock_out(mentor.user.email)
    leader_client = signed_in(leader)
    assert "ann@example.com" in leader_client.get(PAGE).content.decode()
    assert unlock(signed_in(finance_user), {"email": "ann@example.com"})[1] == ["ann@example.com can log in again."]
    assert unlock(leader_client, {"email": "ann@example.com"})[1] == [
        "ann@example.com is not locked out, so there was nothing to unlock: they can log in."]
    assert LogEntry.objects.count() == 1


@pytest.mark.parametrize("data", [{}, {"email": ""}, {"email": "ann@example.com\x00"}, {"email": "a" * 300}])
def test_an_unlock_without_a_proper_address_unlocks_nothing(leader_client, mentor, data):
    lock_out(mentor.user.email)
    before = attempts()
    response = leader_client.post(UNLOCK, data)
    assert response.status_code == 302 and response["Location"] == PAGE
    assert messages_of(response) == ["Nothing was unlocked: choose the address to unlock from the list."]
    assert attempts() == before


def test_a_get_unlocks_nothing(leader_client, mentor):
    lock_out(mentor.user.email)
    before = attempts()
    assert leader_client.get(UNLOCK, {"email": "ann@example.com"}).status_code == 405
    assert attempts() == before
    assert log_in(mentor.user.email).status_code == 429


def test_mentors_cannot_see_or_unlock_and_anonymous_must_log_in(mentor, other_mentor):
    lock_out(other_mentor.user.email)
    before = attempts()
    client = Client()
    client.force_login(mentor.user)
    assert client.get(PAGE).status_code == 404
    assert client.post(UNLOCK, {"email": "olu@example.com"}).status_code == 404
    anonymous = Client()
    for response in (anonymous.get(PAGE), anonymous.post(UNLOCK, {"email": "olu@example.com"})):
        assert response.status_code == 302 and response["Location"].startswith(f"{reverse('login')}?next=")
    assert attempts() == before
    assert log_in(other_mentor.user.email).status_code == 429


def test_finance_find_the_page_from_the_admin(finance_user):
    assert f'href="{PAGE}"' in signed_in(finance_user).get(reverse("admin:index")).content.decode()


def test_senior_leadership_find_the_page_in_the_navigation_and_mentors_do_not(leader_client, mentor):
    nav = leader_client.get("/").content.decode().split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
    assert f'href="{PAGE}"' in nav and "Locked-out accounts" in nav
    assert 'aria-current="page">Locked-out accounts' in leader_client.get(PAGE).content.decode()
    mentor_client = Client()
    mentor_client.force_login(mentor.user)
    assert PAGE not in mentor_client.get("/").content.decode()
