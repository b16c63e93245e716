"""Settings as an operator meets them: each case starts Django in a fresh interpreter with a
controlled environment, so what is tested is what `manage.py`, gunicorn or Celery would see.

The project's optional `.env` file is switched off inside the probe (there is none in the
repository, and a developer's own must not change these results)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_PROBE = """
import json, sys
import environ
environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)  # ignore any .env in the project
import django
django.setup()
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in sys.argv[1:]}, default=str))
"""


def start_django(env: dict[str, str], *names: str) -> subprocess.CompletedProcess:
    """Start Django with exactly `env` (plus PATH) and print the named settings as JSON."""
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DJANGO_SETTINGS_MODULE": "mentoring.settings"}
    return subprocess.run(
        [sys.executable, "-c", _PROBE, *names],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_with(env: dict[str, str], *names: str) -> dict:
    proc = start_django(env, *names)
    assert proc.returncode == 0, f"Django did not start with {env}:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def refusal_message(proc: subprocess.CompletedProcess) -> str:
    """The last line of the traceback: the exception and its message."""
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_embedded_default_uses_sqlite_in_the_project_folder_and_runs_tasks_in_process():
    got = settings_with(
        {},
        "DEBUG", "DATABASES", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL", "EMAIL_BACKEND", "TIME_ZONE",
        "CELERY_TIMEZONE",
    )
    db = got["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(db["NAME"]) == ROOT / "db.sqlite3"
    assert got["DEBUG"] is True
    assert got["CELERY_TASK_ALWAYS_EAGER"] is True, "with no REDIS_URL, tasks must run in-process"
    assert not got["CELERY_BROKER_URL"].startswith("redis"), got["CELERY_BROKER_URL"]
    assert got["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert got["TIME_ZONE"] == "Europe/London"
    assert got["CELERY_TIMEZONE"] == "Europe/London", "beat's month end must be London's month end"


def test_embedded_default_does_not_depend_on_the_working_directory(tmp_path):
    # manage.py, gunicorn and celery may be started from anywhere: the database is still the project's.
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, "DATABASES"],
        env={"PATH": os.environ.get("PATH", ""), "DJANGO_SETTINGS_MODULE": "mentoring.settings", "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(json.loads(proc.stdout.splitlines()[-1])["DATABASES"]["default"]["NAME"]) == ROOT / "db.sqlite3"


def test_redis_url_switches_celery_to_the_redis_broker():
    url = "redis://cache.internal:6380/2"
    got = settings_with({"REDIS_URL": url}, "CELERY_BROKER_URL", "CELERY_TASK_ALWAYS_EAGER")
    assert got["CELERY_BROKER_URL"] == url
    assert got["CELERY_TASK_ALWAYS_EAGER"] is False, "with a broker configured, tasks must go to the workers"


def test_database_url_switches_to_postgres():
    got = settings_with({"DATABASE_URL": "postgres://app:secret@db.internal:5433/mentoring"}, "DATABASES")
    db = got["DATABASES"]["default"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["HOST"], int(db["PORT"]), db["NAME"], db["USER"]) == ("db.internal", 5433, "mentoring", "app")
    assert db["OPTIONS"]["options"] == "-c jit=off", "a page's query compiled to machine code costs more than it runs"


@pytest.mark.parametrize(
    ("email_url", "use_tls"),
    [("smtp://mailer:pa55@mail.example.org:25", False), ("smtp+tls://mailer:pa55@mail.example.org:587", True)],
)
def test_email_url_switches_to_smtp(email_url, use_tls):
    got = settings_with(
        {"EMAIL_URL": email_url},
        "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS",
    )
    assert got["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert got["EMAIL_HOST"] == "mail.example.org"
    assert got["EMAIL_PORT"] == int(email_url.rsplit(":", 1)[1])
    assert (got["EMAIL_HOST_USER"], got["EMAIL_HOST_PASSWORD"]) == ("mailer", "pa55")
    assert got["EMAIL_USE_TLS"] is use_tls


@pytest.mark.parametrize(
    ("env", "named", "not_named"),
    [
        ({}, ["SECRET_KEY", "ALLOWED_HOSTS"], []),
        ({"SECRET_KEY": "s3cret-production-key"}, ["ALLOWED_HOSTS"], ["SECRET_KEY"]),
        ({"ALLOWED_HOSTS": "mentoring.example.org"}, ["SECRET_KEY"], ["ALLOWED_HOSTS"]),
        ({"SECRET_KEY": "", "ALLOWED_HOSTS": ""}, ["SECRET_KEY", "ALLOWED_HOSTS"], []),
    ],
    ids=["neither", "no-allowed-hosts", "no-secret-key", "both-empty"],
)
def test_production_refuses_to_start_without_secret_key_and_allowed_hosts(env, named, not_named):
    proc = start_django({"DEBUG": "0", **env}, "DEBUG")
    assert proc.returncode != 0, f"Django started with DEBUG=0 and {env}: {proc.stdout}"
    message = refusal_message(proc)
    assert "ImproperlyConfigured" in message, proc.stderr
    for name in named:
        assert name in message, f"the error does not name {name}: {message}"
    for name in not_named:
        assert name not in message, f"the error blames {name}, which is set: {message}"


def test_production_starts_with_secret_key_and_allowed_hosts():
    got = settings_with(
        {"DEBUG": "0", "SECRET_KEY": "s3cret-production-key", "ALLOWED_HOSTS": "mentoring.example.org,www.mentoring.example.org"},
        "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "STORAGES",
    )
    assert got["DEBUG"] is False
    assert got["SECRET_KEY"] == "s3cret-production-key"
    assert got["ALLOWED_HOSTS"] == ["mentoring.example.org", "www.mentoring.example.org"]
    assert got["SESSION_COOKIE_SECURE"] is True and got["CSRF_COOKIE_SECURE"] is True
    assert got["STORAGES"]["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_debug_false_spelled_out_is_production_too():
    # "false" must mean off, and then the development SECRET_KEY must not be used as a fallback.
    proc = start_django({"DEBUG": "false", "ALLOWED_HOSTS": "mentoring.example.org"}, "SECRET_KEY")
    assert proc.returncode != 0
    assert "SECRET_KEY" in refusal_message(proc)


def test_the_email_domain_comes_from_the_from_address_unless_set():
    got = settings_with({"DEFAULT_FROM_EMAIL": "Mentoring <no-reply@mentoring.example.org>"}, "EMAIL_DOMAIN",
                        "REPLY_TO_EMAIL")
    assert got == {"EMAIL_DOMAIN": "mentoring.example.org", "REPLY_TO_EMAIL": ""}
    got = settings_with({"EMAIL_DOMAIN": "example.org", "REPLY_TO_EMAIL": "office@example.org"}, "EMAIL_DOMAIN",
                        "REPLY_TO_EMAIL")
    assert got == {"EMAIL_DOMAIN": "example.org", "REPLY_TO_EMAIL": "office@example.org"}


def test_sessions_are_kept_in_the_database_and_with_redis_read_from_it():
    got = settings_with({}, "SESSION_ENGINE")
    assert got["SESSION_ENGINE"] == "django.contrib.sessions.backends.db"
    url = "redis://cache.internal:6380/2"
    got = settings_with({"REDIS_URL": url}, "SESSION_ENGINE", "SESSION_CACHE_ALIAS", "CACHES")
    assert got["SESSION_ENGINE"] == "mentoring.sessions"  # Django's cached_db, carrying on without Redis
    cache = got["CACHES"][got["SESSION_CACHE_ALIAS"]]
    assert (cache["BACKEND"], cache["LOCATION"]) == ("django.core.cache.backends.redis.RedisCache", url)
