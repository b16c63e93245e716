import os
import shutil
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.models import OrganisationDetails
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.conftest import require
from tests.factories import AppointmentFactory, FundingArrangementFactory

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        require("chromium", f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the tests still use the ORM beside it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, email, password):
    page.goto("/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")



@pytest.fixture
def last_month(mentor, mentee):
    """Two one-hour sessions of last month, wrapped up that day, funded by Student Finance England at £55/h; the
    organisation is VAT-registered and issues by hand."""
    first = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England",
                                            hourly_rate=Decimal("55.00"), valid_from=first - timedelta(days=60))
    sessions = []
    for day in (3, 10):
        start = timezone.make_aware(datetime.combine(first.replace(day=day), time(10)))
        appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start,
                                         ends_at=start + timedelta(hours=1))
        sessions.append(appointment_wrap_up(
            appointment_id=appointment.pk, acting_user=mentor.user, now=start + timedelta(hours=2),
            answers=WrapUp(outcome=ServiceAppointment.Outcome.ATTENDED, funding_arrangement=arrangement,
                           session_notes="Went well.")))
    OrganisationDetails.objects.filter(pk=1).update(vat_number="GB123456789", issue_automatically=False)
    return first, sessions
