import os
from datetime import timedelta

import pytest
from django.db import connection
from hypothesis import settings as hypothesis_settings
from django.utils import timezone

from sessions_app import roles
from tests.factories import AppointmentFactory, MenteeFactory, MentorFactory, UserFactory
from tests.strategies import hypothesis_profile


# Hypothesis: in CI each test draws the same examples on every run (`derandomize`), so a failure there reproduces
# anywhere; locally ("dev") they are random and the failing ones are remembered; "nightly" draws ten times as many.
# HYPOTHESIS_PROFILE chooses; CI=true means "ci". tests.strategies.examples() scales each test's count.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis_settings.register_profile("dev", print_blob=True)
hypothesis_settings.register_profile("nightly", print_blob=True)
hypothesis_settings.load_profile(hypothesis_profile())


def pytest_addoption(parser):
    parser.addoption(
        "--clock", default=os.environ.get("TEST_CLOCK", ""),
        help="run every test as if the clock read this Europe/London time (e.g. 2027-01-01T00:30), ticking on from "
             "there; also TEST_CLOCK. CI runs the suite again with it moved, so a test that depends on today's date "
             "fails at once.")


def pytest_sessionstart(session):
    """With --clock, the process's clock starts at that local time and keeps ticking, before any test or fixture:
    every test sees that date, except those that set their own clock (`pytest.mark.time_machine`)."""
    moved_to = session.config.getoption("--clock")
    if not moved_to:
        return
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import time_machine

    start = datetime.fromisoformat(moved_to)
    if start.tzinfo is None:
        start = start.replace(tzinfo=ZoneInfo("Europe/London"))
    session.config.moved_clock = time_machine.travel(start, tick=True)
    session.config.moved_clock.start()


def pytest_sessionfinish(session):
    if getattr(session.config, "moved_clock", None):
        session.config.moved_clock.stop()


def pytest_report_header(config):
    lines = [f"hypothesis profile: {hypothesis_profile()}"]
    if config.getoption("--clock"):
        lines.append(f"clock moved to {config.getoption('--clock')} (Europe/London)")
    return lines


def require(service: str, reason: str):
    """Skip a test whose service is absent, or fail it when .ci/run says the service is required."""
    if os.environ.get(f"REQUIRE_{service.upper()}") == "1":
        pytest.fail(f"{reason} (REQUIRE_{service.upper()}=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        require("postgres", "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/mentoring")


@pytest.fixture(autouse=True, scope="session")
def jinja2_templates_recorded():
    """Django's test client records what a response rendered (response.templates, response.context) from the
    template_rendered signal, which only Django's own engine sends, once its test set-up has instrumented it. The
    pages, emails and PDFs are Jinja2 templates (README, Architecture, "Templates"): their backend sends it too
    while the tests run, before rendering as Django's does (so a page's context comes before those of the form
    widgets it renders), with what the view gave and what the context processors add (user, roles), as Django's
    RequestContext has."""
    from django.template.backends.jinja2 import Template
    from django.template.backends.utils import csrf_input_lazy, csrf_token_lazy
    from django.test.signals import template_rendered

    original = Template.render

    def render(self, context=None, request=None):
        context = {} if context is None else context
        if request is not None:  # what the backend adds, done here once, so the signal carries it too
            context["request"] = request
            context["csrf_input"] = csrf_input_lazy(request)
            context["csrf_token"] = csrf_token_lazy(request)
            for processor in self.backend.template_context_processors:
                context.update(processor(request))
        template_rendered.send(sender=self, template=self.template, context=context)
        return original(self, context)

    Template.render = render
    yield
    Template.render = original


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return "live_server" in item.fixturenames or "transactional_db" in item.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )


@pytest.fixture(autouse=True)
def migration_data(request):
    """Transactional tests flush the database between tests, taking the migrations' roles and reasons with it."""
    if not _is_transactional(request.node):
        return
    request.getfixturevalue("transactional_db")
    grant_migration_data()


def grant_migration_data():
    """What the migrations put in the database (roles, permissions, reasons, the default policy), put back after a
    flush: by `migration_data` for transactional tests, and by the accessibility audit for its data."""
    import importlib

    from django.apps import apps

    roles_migration = importlib.import_module("sessions_app.migrations.0002_roles_and_reasons")
    roles_migration.assign_roles(apps)
    roles_migration.seed_cancellation_reasons(apps, None)
    importlib.import_module("invoicing.migrations.0002_finance_ticket_permissions").assign_roles(apps)
    importlib.import_module("notifications.migrations.0002_finance_outbox_permissions").assign_roles(apps)
    importlib.import_module("invoicing.migrations.0004_default_policy_and_finance_permissions").seed(apps)
    importlib.import_module("invoicing.migrations.0007_finance_history_permissions").assign_roles(apps)
    importlib.import_module("sessions_app.migrations.0006_unlock_accounts_permission").assign_roles(apps)
    importlib.import_module("invoicing.migrations.0013_finance_sees_session_credit_notes_and_adjustments").assign_roles(apps)
    importlib.import_module("sessions_app.migrations.0012_finance_sees_bank_details").assign_roles(apps)
    importlib.import_module("invoicing.migrations.0013_finance_makes_payment_runs").assign_roles(apps)
    importlib.import_module("sessions_app.migrations.0011_scheduling_assignments_series_and_moves").assign_roles(apps)
    importlib.import_module("privacy.migrations.0002_finance_personal_data_permissions").assign_roles(apps)
    importlib.import_module("sessions_app.migrations.0017_finance_records_paper_sign_offs").assign_roles(apps)
    # Two migrations grant Finance's permissions inside their own function only: grant the same codenames here.
    from django.contrib.auth.models import Group, Permission

    for name, codenames in (("invoicing.migrations.0013_closed_month_triggers_and_permissions", "FINANCE_PERMISSIONS"),
                            ("invoicing.migrations.0013_finance_edits_missed_session_rules_and_terms", "CODENAMES")):
        granted = getattr(importlib.import_module(name), codenames)
        Group.objects.get(name="Finance").permissions.add(
            *Permission.objects.filter(content_type__app_label="invoicing", codename__in=granted))


TEST_VAT_NUMBER = "GB 123 4567 89"


@pytest.fixture(autouse=True)
def organisation_registered_for_vat(request, migration_data):
    """Tests that use the database start with the organisation's invoice details filled in as most of them assume:
    VAT-registered, with a VAT registration number. The migrations leave the number blank, and then no invoice can
    be issued (tests/invoicing/test_vat_invoices.py blanks it again to see that)."""
    uses_database = {"db", "transactional_db"} & set(request.fixturenames) or request.node.get_closest_marker(
        "django_db")
    if not uses_database:
        return
    if not _is_transactional(request.node):
        request.getfixturevalue("db")
    from invoicing.models import OrganisationDetails

    OrganisationDetails.objects.update_or_create(pk=1, defaults={"vat_registered": True,
                                                                 "vat_number": TEST_VAT_NUMBER})


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
def media_in_a_temporary_folder(settings, tmp_path):
    """Rendered PDFs go to a folder of the test's own, never to the project's media/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def cancellations_not_held(settings):
    """A cancellation's email goes at once on every database (its default wait depends on REDIS_URL); the tests of
    "cancelled and rebooked" set REBOOKING_HOLD_MINUTES themselves."""
    settings.REBOOKING_HOLD_MINUTES = 0


@pytest.fixture(autouse=True)
def celery_in_process(request):
    """Tasks run in the test's process unless a test brings its own broker and worker (mark `celery_worker`)."""
    from mentoring.celery import app

    if request.node.get_closest_marker("celery_worker"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(scope="session", autouse=True)
def _end_stray_connections(django_db_setup, django_db_blocker):
    """After the last test, end any other session still connected to the PostgreSQL test database (one left open by
    a thread, a killed worker's backend not yet gone), so that it can be dropped: otherwise a later run on the same
    machine finds the old test database "being accessed by other users" and cannot start."""
    yield
    if connection.vendor != "postgresql":
        return
    import psycopg

    from tests.faults.support import dsn

    own = connection.connection.info.backend_pid if connection.connection is not None else 0
    with psycopg.connect(**{**dsn(), "dbname": "postgres"}, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                      [connection.settings_dict["NAME"], own])
