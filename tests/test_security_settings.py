"""Production security settings, the headers on every response, session expiry, password rules, and the
lock-out after repeated failed log-ins (django-axes)."""

import os
import secrets
import shutil
import string
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mentoring.middleware import LOCKOUT_MESSAGE
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import require
from tests.factories import PASSWORD, UserFactory
from tests.test_settings import settings_with

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "".join(secrets.choice(string.ascii_letters + string.digits + "!@#%^&*(-_=+)") for _ in range(50)),
    "ALLOWED_HOSTS": "example.org",
}
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
WRONG = "not-the-password"

# ---------------------------------------------------------------- production: check --deploy

_CHECK_DEPLOY = """
import sys
import environ
environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)  # ignore any .env in the project
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])
"""


def test_production_settings_pass_check_deploy_with_no_warnings():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "mentoring.settings",
           **PRODUCTION}
    proc = subprocess.run([sys.executable, "-c", _CHECK_DEPLOY], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues (0 silenced)." in proc.stdout, proc.stdout + proc.stderr


def test_production_redirects_to_https_with_hsts_and_secure_cookies():
    got = settings_with(
        PRODUCTION,
        "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER",
    )
    assert got["SECURE_SSL_REDIRECT"] is True
    assert got["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"], "health checks probe over plain HTTP"
    assert got["SECURE_HSTS_SECONDS"] == 365 * 24 * 60 * 60
    assert got["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and got["SECURE_HSTS_PRELOAD"] is True
    assert got["SESSION_COOKIE_SECURE"] is True and got["CSRF_COOKIE_SECURE"] is True
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.parametrize(
    ("env", "redirect", "hsts"),
    [
        ({"SECURE_SSL_REDIRECT": "0"}, False, 365 * 24 * 60 * 60),  # TLS checked elsewhere, e.g. a CI run over HTTP
        ({"SECURE_COOKIES": "0"}, False, 365 * 24 * 60 * 60),  # production over plain HTTP: no redirect either
        ({"SECURE_COOKIES": "0", "SECURE_SSL_REDIRECT": "1"}, True, 365 * 24 * 60 * 60),
        ({"SECURE_HSTS_SECONDS": "0"}, True, 0),
    ],
    ids=["no-redirect", "plain-http", "redirect-without-secure-cookies", "no-hsts"],
)
def test_the_https_redirect_and_hsts_are_configurable(env, redirect, hsts):
    got = settings_with({**PRODUCTION, **env}, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")
    assert got == {"SECURE_SSL_REDIRECT": redirect, "SECURE_HSTS_SECONDS": hsts}


def test_development_does_not_redirect_to_https():
    got = settings_with({}, "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SESSION_COOKIE_AGE")
    assert got == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SESSION_COOKIE_AGE": 8 * 60 * 60}


# ---------------------------------------------------------------- headers on every response


def assert_security_headers(response, policy=POLICY):
    assert response["Content-Security-Policy"] == policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_carry_the_content_security_policy_and_the_other_security_headers(client, mentor):
    assert_security_headers(client.get(reverse("login")))
    assert_security_headers(client.get("/no-such-page/"))
    assert_security_headers(client.get(reverse("calendar-feed", args=[mentor.calendar_token])))
    client.force_login(mentor.user)
    assert_security_headers(client.get(reverse("home")))
    assert_security_headers(client.post(reverse("logout")))


def test_the_admin_may_use_inline_styles_but_no_inline_script(finance_client):
    response = finance_client.get(reverse("admin:finance_queue"))
    assert response.status_code == 200
    assert_security_headers(response, POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"))


def test_https_responses_carry_hsts_in_production(client, settings):
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    assert client.get(reverse("login"), secure=True)["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    redirect = client.get(reverse("login"))
    assert (redirect.status_code, redirect["Location"]) == (301, "https://testserver/accounts/login/")
    assert client.get(reverse("healthz")).status_code == 200, "the health check answers over plain HTTP"


# ---------------------------------------------------------------- sessions expire


def log_in(client, email, password=PASSWORD, path=None, **extra):
    return client.post(path or reverse("login"), {"username": email, "password": password}, **extra)


def test_a_log_in_lasts_eight_hours_and_ends_with_the_browser(client, mentor):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    response = log_in(client, mentor.user.email)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert not cookie["max-age"] and not cookie["expires"], "a browser-session cookie: closing the browser ends it"
    session = Session.objects.get(session_key=cookie.value)
    expected = timezone.now() + timedelta(hours=8)
    assert abs(session.expire_date - expected) < timedelta(minutes=1)
    assert client.get(reverse("home")).status_code == 200

    # Eight hours on: the row has expired and, with Redis, so has its copy there (kept for the same eight hours).
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() - timedelta(seconds=1))
    if settings.SESSION_ENGINE == "mentoring.sessions":
        redis = caches[settings.SESSION_CACHE_ALIAS]
        key = redis.make_and_validate_key(cached_db.KEY_PREFIX + cookie.value)
        assert abs(redis._cache.get_client(key).ttl(key) - 8 * 60 * 60) < 60
        redis.delete(cached_db.KEY_PREFIX + cookie.value)
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


# ---------------------------------------------------------------- passwords


def test_passwords_are_hashed_with_argon2_and_an_older_pbkdf2_hash_is_replaced_at_log_in(settings, client, mentor):
    from django.conf import global_settings
    from django.contrib.auth.hashers import make_password

    from mentoring import settings as project_settings

    # The project's hashers (tests hash with MD5, for speed): its own list, or Django's if it had none.
    settings.PASSWORD_HASHERS = getattr(project_settings, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    assert make_password(PASSWORD).startswith("argon2$argon2id$")
    mentor.user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    mentor.user.save()
    assert log_in(client, mentor.user.email).status_code == 302
    mentor.user.refresh_from_db()
    assert mentor.user.password.startswith("argon2$argon2id$") and mentor.user.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("5829471036", "This password is entirely numeric."),
        ("ann.mentor.example", "The password is too similar to the email address."),
    ],
)
def test_weak_passwords_are_refused(mentor, password, message):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=mentor.user)
    assert message in refused.value.messages


def test_the_admin_refuses_a_weak_password_for_a_new_user(client, db):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    response = client.post(reverse("admin:sessions_app_user_add"), {
        "email": "new.person@example.com", "full_name": "New Person", "password1": "password", "password2": "password",
        "usable_password": "true",
    })
    assert response.status_code == 200
    assert "This password is too common." in response.content.decode()
    validate_password("a-long-enough-passphrase")  # and a good one passes


# ---------------------------------------------------------------- lock-out after failed log-ins


def test_five_wrong_passwords_lock_the_account_out_even_with_the_right_one(client, mentor, other_mentor):
    assert settings.AXES_FAILURE_LIMIT == 5
    for attempt in range(1, 5):
        response = log_in(client, mentor.user.email, WRONG)
        assert response.status_code == 200, attempt
        assert "Please enter a correct email address and password." in response.content.decode()
        assert LOCKOUT_MESSAGE not in response.content.decode()
    response = log_in(client, mentor.user.email, WRONG)
    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in response.content.decode()

    response = log_in(client, mentor.user.email)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKOUT_MESSAGE in page
    assert f'value="{mentor.user.email}"' in page, "the form keeps the address"
    assert_security_headers(response)
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302

    # The address in other capitals is the same account, and the same lock-out.
    assert log_in(client, mentor.user.email.upper()).status_code == 429

    # Another account from the same address is not affected.
    response = log_in(client, other_mentor.user.email)
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_the_lock_out_is_for_one_address_and_ip_and_lasts_an_hour(client, mentor):
    from axes.models import AccessAttempt

    for _ in range(5):
        log_in(client, mentor.user.email, WRONG, REMOTE_ADDR="10.0.0.1")
    assert log_in(Client(), mentor.user.email, REMOTE_ADDR="10.0.0.1").status_code == 429
    assert log_in(Client(), mentor.user.email, REMOTE_ADDR="10.0.0.2").status_code == 302, "another IP address"
    assert settings.AXES_COOLOFF_TIME == timedelta(hours=1)

    # An hour after the last try, the account opens again.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1, minutes=1))
    assert log_in(Client(), mentor.user.email, REMOTE_ADDR="10.0.0.1").status_code == 302


def test_fewer_failures_then_success_start_the_count_again(client, mentor):
    for _ in range(4):
        log_in(client, mentor.user.email, WRONG)
    assert log_in(client, mentor.user.email).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert log_in(client, mentor.user.email, WRONG).status_code == 200
    assert log_in(client, mentor.user.email).status_code == 302


def test_the_admin_log_in_locks_out_too(client, finance_user):
    url = reverse("admin:login")
    for _ in range(5):
        response = log_in(client, finance_user.email, WRONG, path=url)
    assert response.status_code == 429
    response = log_in(client, finance_user.email, path=url)
    assert response.status_code == 429
    assert LOCKOUT_MESSAGE in response.content.decode()
    assert "Finance admin" in response.content.decode(), "the admin's own log-in page"
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_test_client_login_still_works_without_a_request(client, mentor):
    """Log-ins from code have no request and no IP address: the lock-out backend lets them through."""
    assert client.login(email=mentor.user.email, password=PASSWORD)
    assert not client.login(email=mentor.user.email, password=WRONG)


# ---------------------------------------------------------------- the policy blocks nothing our pages need


def blocked_by_the_policy(base_url: str, visits: list[tuple[str | None, str, list[str]]]) -> list[str]:
    """Visit each (email, log-in page, pages) in Chromium; every message of the Content-Security-Policy blocking.

    Runs in a thread of its own: the browser tests' Playwright may still be running in this one, and Playwright's
    sync API runs one instance per thread."""
    from playwright.sync_api import sync_playwright

    blocked = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for email, login_url, urls in visits:
            context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.on("console", lambda message, page=page: "Content Security Policy" in message.text
                    and blocked.append(f"{page.url}: {message.text}"))
            page.goto(login_url)
            page.get_by_label("Email address").fill(email)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_load_state("load")
            for url in urls:
                page.goto(url)
                page.wait_for_load_state("load")
            context.close()
        browser.close()
    return blocked


@pytest.mark.browser
def test_the_policy_blocks_nothing_on_our_pages_or_the_admin(live_server, mentor, leader, finance_user, mentee):
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        require("chromium", f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    from tests.factories import AppointmentFactory

    started = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=timezone.now() - timedelta(hours=2))
    future = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=timezone.now() + timedelta(days=3))
    login, admin_login = reverse("login"), reverse("admin:login")
    visits = [
        (mentor.user.email, login, [
            "/", "/calendar/", "/dashboard/", started.get_absolute_url(),
            reverse("appointment-wrap-up", args=[started.reference]),
            reverse("appointment-cancel", args=[future.reference]),
            reverse("appointment-ticket", args=[started.reference]), reverse("wrap-up-request"),
        ]),
        (leader.email, login, ["/dashboard/", reverse("mentor-wrap-up", args=[mentor.pk])]),
        (finance_user.email, admin_login, [
            reverse("admin:index"), reverse("admin:finance_queue"),
            reverse("admin:sessions_app_serviceappointment_changelist"),
            reverse("admin:sessions_app_serviceappointment_change", args=[started.pk]),
            reverse("admin:sessions_app_serviceappointment_add"), reverse("admin:invoicing_invoice_changelist"),
            reverse("admin:sessions_app_mentee_changelist"),
        ]),
    ]
    with ThreadPoolExecutor(max_workers=1) as thread:
        blocked = thread.submit(blocked_by_the_policy, live_server.url, visits).result(timeout=300)
    assert blocked == []
