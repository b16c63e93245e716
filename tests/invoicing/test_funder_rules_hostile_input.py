"""Hostile input on Finance's new forms: a term (name, first and last day), a funder's missed-session rules (notice
period, limit, counted per, charge), and "Write it off" on the complete wrap-up page. Never a server error; either
saved with sensible values, or the page again saying what is wrong and nothing saved."""

import html
import traceback
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from invoicing.models import MissedSessionRule, Term
from sessions_app import roles
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory, MenteeFactory, MentorFactory, UserFactory
from tests.invoicing.helpers import at
from tests.strategies import examples, hostile_id, hostile_number, hostile_text, short_hostile_text

pytestmark = pytest.mark.django_db

dates = st.one_of(st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(str), short_hostile_text,
                  st.sampled_from(["2026-02-30", "31/12/2026", "0000-00-00", "9999-12-31"]))


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def post(client, url, data):
    response = client.post(url, {key: value for key, value in data.items() if value is not None})
    if response.status_code == 500:
        problem = "".join(traceback.format_exception(*response.exc_info)) if response.exc_info else ""
        pytest.fail(f"500 from {url}:\n{problem[-3000:]}")
    assert response.status_code in (200, 302)
    return response


@pytest.fixture
def finance(db):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(full_name="Fay Finance", roles=[roles.FINANCE]))
    return client


@pytest.fixture
def autumn(db):
    return Term.objects.create(name="Autumn 2026", starts_on=date(2026, 9, 1), ends_on=date(2026, 12, 15))


@given(name=st.one_of(hostile_text, st.just("Spring 2027")), starts=dates, ends=dates)
@examples(40)
def test_a_term_is_saved_only_with_a_one_line_name_and_real_dates_that_overlap_no_other(finance, autumn, name, starts,
                                                                                         ends):
    with rolled_back():
        response = post(finance, reverse("admin:invoicing_term_add"), {"name": name, "starts_on": starts,
                                                                       "ends_on": ends})
        terms = list(Term.objects.exclude(pk=autumn.pk))
        if response.status_code == 302:
            [term] = terms
            assert term.name == name.strip() and term.starts_on <= term.ends_on
            assert term.ends_on < autumn.starts_on or term.starts_on > autumn.ends_on
        else:
            assert terms == []
            assert "Please correct the error" in html.unescape(response.content.decode())


def test_an_overlapping_term_is_refused_with_the_term_it_overlaps(finance, autumn):
    response = post(finance, reverse("admin:invoicing_term_add"),
                    {"name": "Late autumn", "starts_on": "2026-12-15", "ends_on": "2027-01-10"})
    assert response.status_code == 200
    assert ("These dates overlap Autumn 2026 (01/09/2026 to 15/12/2026): a day belongs to one term at most."
            in html.unescape(response.content.decode()))
    response = post(finance, reverse("admin:invoicing_term_add"),
                    {"name": "Backwards", "starts_on": "2027-02-10", "ends_on": "2027-01-10"})
    assert "The last day cannot be before the first day." in html.unescape(response.content.decode())


@given(notice=st.one_of(st.none(), hostile_number, st.sampled_from(["", "0", "1", "24", "48", "32767", "32768"])),
       limit=st.one_of(st.none(), hostile_number, st.sampled_from(["", "0", "3"])),
       per=st.one_of(st.none(), short_hostile_text, st.sampled_from(["term", "arrangement"])),
       charge=st.one_of(st.none(), short_hostile_text, st.sampled_from(["full", "first_hour"])),
       funder=st.one_of(hostile_id, st.just("real")))
@examples(60)
def test_a_funders_rules_are_saved_only_with_sensible_values(finance, notice, limit, per, charge, funder):
    with rolled_back():
        real = FunderFactory(name="Student Finance England")
        data = {"funder": str(real.pk) if funder == "real" else funder, "notice_hours": notice,
                "missed_limit": limit, "limit_per": per, "charge": charge}
        response = post(finance, reverse("admin:invoicing_missedsessionrule_add"), data)
        rules = list(MissedSessionRule.objects.all())
        if response.status_code == 302:
            [rule] = rules
            assert rule.funder == real and rule.limit_per in ("term", "arrangement")
            assert rule.charge in ("full", "first_hour")
            assert rule.notice_hours is None or 1 <= rule.notice_hours <= 32767
            assert rule.missed_limit is None or 0 <= rule.missed_limit <= 32767
        else:
            assert rules == []
            assert "Please correct the error" in html.unescape(response.content.decode())


@given(write_off=st.one_of(st.none(), short_hostile_text, st.sampled_from(["on", "false", "0", ""])),
       reply=st.one_of(st.just("Written off."), hostile_text))
@examples(30)
def test_write_it_off_never_errors_and_bills_nobody_when_ticked(finance, write_off, reply):
    with rolled_back():
        mentee = MenteeFactory()
        arrangement = FundingArrangementFactory(mentee=mentee, hours_allowance=Decimal("0.5"))
        mentor = MentorFactory()

        start = at(2026, 10, 5)
        session = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=at(2026, 10, 5, 11))
        appointment_wrap_up(appointment_id=session.pk, acting_user=mentor.user,
                            answers=WrapUp(outcome="attended", funding_arrangement=arrangement, session_notes="n"),
                            now=at(2026, 10, 5, 12))
        url = reverse("admin:sessions_app_serviceappointment_complete_wrap_up", args=[session.pk])
        response = post(finance, url, {"write_off": write_off, "reply": reply})
        session.refresh_from_db()
        if response.status_code == 302:
            assert session.status == ServiceAppointment.Status.COMPLETED
            ticked = bool(write_off) and write_off.lower() != "false"  # as a checkbox reads it
            assert session.funding_arrangement == (None if ticked else arrangement)
        else:
            assert session.status == ServiceAppointment.Status.AWAITING_FINANCE
