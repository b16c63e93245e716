"""Finance adding or changing a session in the admin meets the booking pages' clash rules (one check,
`check_slot_free`): a clear message on the form, nothing saved, never a server error."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from sessions_app.models import CancellationReason, ServiceAppointment
from sessions_app.services import appointment_cancel
from tests.factories import AppointmentFactory, MenteeFactory, UserFactory

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 3, 2, 9, 0, tzinfo=LONDON))
AT_TEN = datetime(2026, 3, 10, 10, 0, tzinfo=LONDON)


def fields(start, end, **extra):
    return {"starts_at_0": f"{start:%Y-%m-%d}", "starts_at_1": f"{start:%H:%M}", "ends_at_0": f"{end:%Y-%m-%d}",
            "ends_at_1": f"{end:%H:%M}", "mode": "phone", "location": "", "_save": "Save", **extra}


def add(client, mentor, mentee, start, end, **extra):
    return client.post(reverse("admin:sessions_app_serviceappointment_add"),
                       {"mentor": mentor.pk, "mentee": mentee.pk, **fields(start, end, **extra)})


def change(client, appointment, start, end, **extra):
    return client.post(reverse("admin:sessions_app_serviceappointment_change", args=[appointment.pk]),
                       {**fields(start, end, **extra), "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"})


def errors(response) -> str:
    assert response.status_code == 200, response.status_code
    return " ".join(str(e) for e in response.context["adminform"].form.non_field_errors())


def test_adding_a_session_over_the_mentors_or_the_mentees_is_refused_with_the_session_it_clashes_with(
        finance_client, mentor, other_mentor, mentee):
    theirs = AppointmentFactory(mentor=mentor, mentee=MenteeFactory(full_name="Sam Other"), starts_at=AT_TEN,
                                ends_at=AT_TEN + timedelta(hours=1))
    response = add(finance_client, mentor, mentee, AT_TEN + timedelta(minutes=30), AT_TEN + timedelta(minutes=90))
    assert errors(response) == (f"This clashes with another session: Ann Mentor already has {theirs.reference} "
                                "(Tuesday 10 March 2026, 10:00–11:00).")
    # The mentee is busy too: with another mentor at that time.
    response = add(finance_client, other_mentor, theirs.mentee, AT_TEN, AT_TEN + timedelta(hours=1))
    assert errors(response) == (f"This clashes with another session: Sam Other already has {theirs.reference} with "
                                "Ann Mentor (Tuesday 10 March 2026, 10:00–11:00).")
    assert ServiceAppointment.objects.count() == 1
    # Right after it, or over a cancelled one, is fine.
    assert add(finance_client, mentor, mentee, AT_TEN + timedelta(hours=1), AT_TEN + timedelta(hours=2)).status_code == 302
    appointment_cancel(appointment_id=theirs.pk, acting_user=mentor.user, reason=CancellationReason.objects.first(),
                       internal_note="Ill.")
    assert add(finance_client, other_mentor, theirs.mentee, AT_TEN, AT_TEN + timedelta(hours=1)).status_code == 302


def test_moving_a_session_onto_another_is_refused_but_changing_only_its_place_is_not(finance_client, mentor, mentee):
    first = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=AT_TEN, ends_at=AT_TEN + timedelta(hours=1))
    second = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=AT_TEN + timedelta(hours=2),
                                ends_at=AT_TEN + timedelta(hours=3))
    response = change(finance_client, second, AT_TEN + timedelta(minutes=45), AT_TEN + timedelta(minutes=105))
    assert errors(response).startswith(f"This clashes with another session: Ann Mentor already has {first.reference}")
    second.refresh_from_db()
    assert second.starts_at == AT_TEN + timedelta(hours=2) and second.calendar_sequence == 0
    # Its own time is no clash with itself; a new place at the same time saves.
    response = change(finance_client, second, AT_TEN + timedelta(hours=2), AT_TEN + timedelta(hours=3),
                      mode="in_person", location="Room 4")
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.location == "Room 4"


def test_someone_who_may_book_over_a_clash_gives_the_reason_in_the_admin_too(client, mentor, mentee):
    superuser = UserFactory(email="sam@example.com", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    theirs = AppointmentFactory(mentor=mentor, starts_at=AT_TEN, ends_at=AT_TEN + timedelta(hours=1))
    page = client.get(reverse("admin:sessions_app_serviceappointment_add")).content.decode()
    assert 'name="clash_override_reason"' in page
    refused = add(client, mentor, mentee, AT_TEN, AT_TEN + timedelta(hours=1))
    assert errors(refused).endswith("To book it anyway, give the reason for the overlap.")
    assert add(client, mentor, mentee, AT_TEN, AT_TEN + timedelta(hours=1),
               clash_override_reason="Joint session.").status_code == 302
    booked = ServiceAppointment.objects.exclude(pk=theirs.pk).get()
    assert booked.clash_override_reason == "Joint session."
    assert booked.events.get().description == "Booked over a clash: Joint session."


def test_finance_cannot_book_over_a_clash_even_by_posting_a_reason(finance_client, mentor, mentee):
    AppointmentFactory(mentor=mentor, starts_at=AT_TEN, ends_at=AT_TEN + timedelta(hours=1))
    assert 'name="clash_override_reason"' not in finance_client.get(
        reverse("admin:sessions_app_serviceappointment_add")).content.decode()
    response = add(finance_client, mentor, mentee, AT_TEN, AT_TEN + timedelta(hours=1),
                   clash_override_reason="Because.")
    assert errors(response).endswith("Only Senior Leadership can book over a clash.")
    assert ServiceAppointment.objects.count() == 1
    assert not Permission.objects.filter(group__name="Finance", codename="book_over_clash").exists()
