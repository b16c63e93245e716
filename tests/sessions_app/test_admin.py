from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sessions_app import roles
from sessions_app.models import (
    AppointmentEvent,
    CancellationReason,
    FundingArrangement,
    Mentor,
    Sequence,
    ServiceAppointment,
    User,
)
from tests.factories import (
    PASSWORD,
    AppointmentFactory,
    FunderFactory,
    FundingArrangementFactory,
    MenteeFactory,
    MentorFactory,
    UserFactory,
)

Status, Outcome = ServiceAppointment.Status, ServiceAppointment.Outcome


def changelist(model_name):
    return reverse(f"admin:sessions_app_{model_name}_changelist")


def change_page(obj):
    return reverse(f"admin:sessions_app_{obj._meta.model_name}_change", args=[obj.pk])


def listed(response):
    return list(response.context["cl"].result_list)


@pytest.fixture
def staff_client(client, db):
    """Technical staff: a superuser, who may do anything the admin allows anyone to do."""
    admin_user = UserFactory(full_name="Sid Staff", email="sid@example.com", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    return client


@pytest.fixture
def one_of_everything(finance_user, mentor, mentee, past_appointment):
    arrangement = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England")
    return {
        "user": finance_user,
        "mentor": mentor,
        "mentee": mentee,
        "funder": arrangement.funder,
        "fundingarrangement": arrangement,
        "cancellationreason": CancellationReason.objects.get(label="Mentee unwell"),
        "serviceappointment": past_appointment,
        "appointmentevent": past_appointment.events.get(),
    }


FINANCE_MODELS = [
    "user", "mentor", "mentee", "funder", "fundingarrangement", "cancellationreason",
    "serviceappointment", "appointmentevent",
]


class TestWhoGetsIn:
    def test_finance_sees_every_model_on_the_admin_index(self, finance_client, db):
        response = finance_client.get(reverse("admin:index"))
        assert response.status_code == 200
        html = response.content.decode()
        for model_name in FINANCE_MODELS:
            assert f'href="{changelist(model_name)}"' in html, model_name

    @pytest.mark.parametrize("model_name", FINANCE_MODELS)
    def test_finance_opens_the_list_and_the_record_of_every_model(self, finance_client, one_of_everything,
                                                                 model_name):
        obj = one_of_everything[model_name]
        response = finance_client.get(changelist(model_name))
        assert response.status_code == 200
        assert obj in listed(response)
        response = finance_client.get(change_page(obj))
        assert response.status_code == 200
        assert response.context["original"] == obj

    def test_finance_does_not_see_the_number_sequences(self, finance_client, past_appointment):
        assert finance_client.get(changelist("sequence")).status_code == 403

    @pytest.mark.parametrize("client_fixture", ["mentor_client", "leader_client"])
    @pytest.mark.parametrize("url", ["/admin/", "/admin/sessions_app/serviceappointment/"])
    def test_mentors_and_senior_leadership_are_sent_to_the_admin_login(self, request, client_fixture, url):
        client = request.getfixturevalue(client_fixture)
        response = client.get(url)
        assert response.status_code == 302
        assert response.url == f"/admin/login/?next={url}"

    @pytest.mark.parametrize("model_name", [*FINANCE_MODELS, "sequence"])
    def test_staff_can_open_every_list_and_record(self, staff_client, one_of_everything, model_name):
        obj = Sequence.objects.get() if model_name == "sequence" else one_of_everything[model_name]
        listing = staff_client.get(changelist(model_name))
        assert listing.status_code == 200 and obj in listing.context["cl"].result_list
        page = staff_client.get(change_page(obj))
        assert page.status_code == 200 and page.context["original"] == obj

    @pytest.mark.parametrize(
        "model_name", ["user", "mentor", "mentee", "funder", "fundingarrangement", "cancellationreason",
                       "serviceappointment"]
    )
    def test_staff_can_open_every_add_page(self, staff_client, model_name):
        response = staff_client.get(reverse(f"admin:sessions_app_{model_name}_add"))
        assert response.status_code == 200 and response.context["add"] is True
        assert response.context["adminform"].form._meta.model._meta.model_name == model_name
        assert 'name="_save"' in response.content.decode()


class TestAppointmentList:
    @pytest.fixture
    def three(self, mentor, other_mentor, mentee):
        start = timezone.now().replace(microsecond=0) - timedelta(days=2)
        return [
            AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start),
            AppointmentFactory(mentor=other_mentor, mentee=MenteeFactory(full_name="Priya Pupil"),
                               starts_at=start + timedelta(days=1)),
            AppointmentFactory(mentor=MentorFactory(user__full_name="Cy Coach", user__email="cy@coaching.example"),
                               mentee=MenteeFactory(full_name="Kim Learner"), starts_at=start + timedelta(days=2)),
        ]

    def search(self, client, term):
        response = client.get(changelist("serviceappointment"), {"q": term})
        assert response.status_code == 200
        return [appointment.reference for appointment in listed(response)]

    def test_searching_by_sa_reference_finds_that_session(self, finance_client, three):
        assert self.search(finance_client, three[1].reference) == [three[1].reference]

    def test_searching_by_mentee_name_finds_their_sessions(self, finance_client, three):
        assert self.search(finance_client, "Priya Pupil") == [three[1].reference]
        assert self.search(finance_client, "mo mentee") == [three[0].reference]

    def test_searching_by_mentor_name_or_email_finds_their_sessions(self, finance_client, three):
        assert self.search(finance_client, "Olu Othermentor") == [three[1].reference]
        assert self.search(finance_client, "cy@coaching.example") == [three[2].reference]

    def test_shows_reference_start_mentor_mentee_status_and_outcome(self, finance_client, three):
        ServiceAppointment.objects.filter(pk=three[0].pk).update(
            status=Status.COMPLETED, outcome=Outcome.DID_NOT_ATTEND, wrapped_up_at=timezone.now()
        )
        html = finance_client.get(changelist("serviceappointment"), {"q": three[0].reference}).content.decode()
        local_start = timezone.localtime(three[0].starts_at)
        for text in (three[0].reference, "Ann Mentor", "Mo Mentee", "Completed", "Did not attend",
                     f"{local_start:%a} {local_start.day} {local_start:%b %Y, %H:%M}"):
            assert text in html, text

    def test_filters_sessions_still_to_wrap_up(self, finance_client, mentor, three, future_appointment):
        response = finance_client.get(changelist("serviceappointment"), {"wrap_up": "due"})
        assert {a.reference for a in listed(response)} == {a.reference for a in three if a.has_started()}
        assert future_appointment not in listed(response)

    def test_query_count_does_not_grow_with_the_number_of_sessions(self, finance_client, db):
        def book(count):
            for _ in range(count):  # each with its own mentor and mentee, so any per-row lookup would show
                AppointmentFactory()

        def queries_for_the_list():
            with CaptureQueriesContext(connection) as captured:
                response = finance_client.get(changelist("serviceappointment"))
            assert response.status_code == 200
            return len(listed(response)), len(captured)

        book(5)
        rows, queries_for_5 = queries_for_the_list()
        assert rows == 5
        book(45)
        rows, queries_for_50 = queries_for_the_list()
        assert rows == 50
        assert queries_for_50 == queries_for_5


class TestAddingAnAppointment:
    def post(self, client, mentor, mentee, start, end, **extra):
        data = {
            "mentor": mentor.pk,
            "mentee": mentee.pk,
            "starts_at_0": f"{start:%Y-%m-%d}",
            "starts_at_1": f"{start:%H:%M}",
            "ends_at_0": f"{end:%Y-%m-%d}",
            "ends_at_1": f"{end:%H:%M}",
            "mode": "online",
            "location": "https://meet.example.com/abc",
            "_save": "Save",
            **extra,
        }
        return client.post(reverse("admin:sessions_app_serviceappointment_add"), data, follow=True)

    def test_books_it_with_an_sa_reference_and_a_booked_event(self, finance_client, finance_user, mentor, mentee):
        AppointmentFactory()  # the new one gets the next number, not the first
        start = timezone.localtime(timezone.now() + timedelta(days=5)).replace(hour=10, minute=0, second=0,
                                                                                microsecond=0)
        response = self.post(finance_client, mentor, mentee, start, start + timedelta(hours=1))

        appointment = ServiceAppointment.objects.get(mentor=mentor)
        assert appointment.reference == "SA-000002"
        assert (appointment.starts_at, appointment.ends_at) == (start, start + timedelta(hours=1))
        assert appointment.mode == "online" and appointment.status == Status.SCHEDULED
        assert [(e.kind, e.actor, e.on_behalf_of) for e in appointment.events.all()] == [
            ("booked", finance_user, mentor.user)
        ]
        assert response.status_code == 200
        assert "SA-000002" in response.content.decode()
        assert "was added successfully" in response.content.decode()

    def test_an_end_before_the_start_is_refused_and_nothing_is_booked(self, finance_client, mentor, mentee):
        start = timezone.localtime(timezone.now() + timedelta(days=5)).replace(hour=10, minute=0)
        response = self.post(finance_client, mentor, mentee, start, start - timedelta(hours=1))
        assert "The session must end after it starts." in response.content.decode()
        assert not ServiceAppointment.objects.exists()

    def test_an_inactive_mentor_cannot_be_booked(self, finance_client, mentor, mentee):
        Mentor.objects.filter(pk=mentor.pk).update(is_active=False)
        start = timezone.localtime(timezone.now() + timedelta(days=5)).replace(hour=10, minute=0)
        response = self.post(finance_client, mentor, mentee, start, start + timedelta(hours=1))
        assert "Select a valid choice" in response.content.decode()
        assert not ServiceAppointment.objects.exists()


class TestEditingAnAppointment:
    def change_data(self, appointment, **changes):
        start, end = timezone.localtime(appointment.starts_at), timezone.localtime(appointment.ends_at)
        return {
            "starts_at_0": f"{start:%Y-%m-%d}", "starts_at_1": f"{start:%H:%M:%S}",
            "ends_at_0": f"{end:%Y-%m-%d}", "ends_at_1": f"{end:%H:%M:%S}",
            "mode": appointment.mode, "location": appointment.location,
            "events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0",
            "_save": "Save", **changes,
        }

    def test_a_scheduled_session_can_be_moved_but_its_status_and_outcome_cannot_be_set(
        self, finance_client, future_appointment
    ):
        response = finance_client.post(
            change_page(future_appointment),
            self.change_data(future_appointment, location="Room 5", status="completed", outcome="attended",
                             admin_details="forged", reference="SA-999999"),
        )
        assert response.status_code == 302
        future_appointment.refresh_from_db()
        assert future_appointment.location == "Room 5"
        assert future_appointment.status == Status.SCHEDULED
        assert future_appointment.outcome == "" and future_appointment.admin_details == ""
        assert future_appointment.reference != "SA-999999"

    def test_a_wrapped_up_session_shows_no_editable_fields(self, finance_client, past_appointment):
        ServiceAppointment.objects.filter(pk=past_appointment.pk).update(
            status=Status.COMPLETED, outcome=Outcome.ATTENDED, wrapped_up_at=timezone.now()
        )
        original_start = past_appointment.starts_at
        html = finance_client.get(change_page(past_appointment)).content.decode()
        assert 'name="starts_at_0"' not in html and 'name="location"' not in html
        assert "Attended" in html
        finance_client.post(
            change_page(past_appointment),
            self.change_data(past_appointment, location="Elsewhere", starts_at_0="2020-01-01"),
        )
        past_appointment.refresh_from_db()
        assert past_appointment.starts_at == original_start and past_appointment.location != "Elsewhere"

    def test_history_is_shown_read_only(self, finance_client, future_appointment):
        html = finance_client.get(change_page(future_appointment)).content.decode()
        assert "Booked" in html
        assert 'name="events-0-kind"' not in html and 'name="events-0-DELETE"' not in html
        assert 'name="events-MAX_NUM_FORMS" value="0"' in html  # no rows can be added

    @pytest.mark.parametrize("client_fixture", ["finance_client", "staff_client"])
    def test_appointments_and_events_cannot_be_deleted(self, request, client_fixture, future_appointment):
        client = request.getfixturevalue(client_fixture)
        event = future_appointment.events.get()
        assert client.get(reverse("admin:sessions_app_serviceappointment_delete",
                                  args=[future_appointment.pk])).status_code == 403
        assert client.get(reverse("admin:sessions_app_appointmentevent_delete", args=[event.pk])).status_code == 403
        response = client.post(changelist("serviceappointment"),
                               {"action": "delete_selected", "_selected_action": [future_appointment.pk]})
        assert ServiceAppointment.objects.filter(pk=future_appointment.pk).exists()
        assert AppointmentEvent.objects.filter(pk=event.pk).exists()
        assert response.status_code in (200, 302)


class TestMenteeFunding:
    def mentee_data(self, mentee, *rows):
        data = {
            "full_name": mentee.full_name, "email": mentee.email, "phone": "", "address": "",
            "funding_arrangements-TOTAL_FORMS": str(len(rows)), "funding_arrangements-INITIAL_FORMS": "0",
            "funding_arrangements-MIN_NUM_FORMS": "0", "funding_arrangements-MAX_NUM_FORMS": "1000",
            "_save": "Save",
        }
        for index, row in enumerate(rows):
            data.update({f"funding_arrangements-{index}-{key}": value for key, value in row.items()})
        return data

    def test_finance_adds_funding_on_the_mentee_page(self, finance_client, mentee):
        funder = FunderFactory(name="University of Northbridge")
        response = finance_client.post(change_page(mentee), self.mentee_data(
            mentee,
            {"kind": "funded", "funder": funder.pk, "reference": "PO 123", "hourly_rate": "52.50",
             "hours_allowance": "20", "valid_from": "2025-09-01", "valid_until": ""},
            {"kind": "self_funded", "funder": "", "reference": "", "hourly_rate": "45", "hours_allowance": "",
             "valid_from": "2025-09-01", "valid_until": "2026-08-31"},
        ))
        assert response.status_code == 302
        assert sorted(a.label for a in mentee.funding_arrangements.all()) == [
            "Funded by University of Northbridge, ref. PO 123", "Self-funded",
        ]
        funded = mentee.funding_arrangements.get(kind="funded")
        assert (funded.hourly_rate, funded.hours_allowance, funded.valid_from) == (
            Decimal("52.50"), Decimal("20"), date(2025, 9, 1)
        )

    def test_funded_without_a_funder_is_refused(self, finance_client, mentee):
        response = finance_client.post(change_page(mentee), self.mentee_data(
            mentee,
            {"kind": "funded", "funder": "", "reference": "", "hourly_rate": "50", "hours_allowance": "",
             "valid_from": "2025-09-01", "valid_until": ""},
        ))
        assert response.status_code == 200
        assert "Choose the funder for a Funded arrangement." in response.content.decode()
        assert not FundingArrangement.objects.exists()

    def test_mentees_can_be_filtered_by_funding_valid_today(self, finance_client, db):
        funded = FundingArrangementFactory(mentee__full_name="Fran Funded").mentee
        self_funded = FundingArrangementFactory(mentee__full_name="Sol Self", self_funded=True).mentee
        FundingArrangementFactory(mentee__full_name="Ex Expired", valid_until=date(2021, 1, 1))
        MenteeFactory(full_name="Nia None")
        names = lambda value: [m.full_name for m in listed(finance_client.get(changelist("mentee"),  # noqa: E731
                                                                               {"funding_today": value}))]
        assert names("funded") == [funded.full_name]
        assert names("self_funded") == [self_funded.full_name]
        assert names("none") == ["Ex Expired", "Nia None"]
        html = finance_client.get(changelist("mentee")).content.decode()
        assert "Funded by Funder" in html and "Self-funded" in html


    def test_the_funder_filter_calls_arrangements_without_a_funder_self_funded(self, finance_client, mentee):
        funded = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England")
        self_funded = FundingArrangementFactory(mentee=mentee, self_funded=True)
        response = finance_client.get(changelist("fundingarrangement"))
        (funder_filter,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "funder"]
        choices = [choice["display"] for choice in funder_filter.choices(response.context["cl"])]
        assert choices == ["All", "Student Finance England", "Self-funded"]
        chosen = finance_client.get(changelist("fundingarrangement"), {"funder__isnull": "True"})
        assert list(chosen.context["cl"].result_list) == [self_funded] and funded not in chosen.context["cl"].result_list


class TestMentorsAndUsers:
    def test_finance_never_sees_a_mentors_calendar_feed_address(self, finance_client, mentor):
        for page in (change_page(mentor), changelist("mentor")):
            html = finance_client.get(page).content.decode()
            assert mentor.calendar_token not in html
            assert 'name="calendar_token"' not in html
        html = finance_client.get(change_page(mentor)).content.decode()
        assert "Private: only the mentor sees the address, on their calendar page." in html
        assert "Give the selected mentors a new calendar feed address" in finance_client.get(
            changelist("mentor")).content.decode()

    def test_staff_give_a_mentor_a_new_calendar_address(self, staff_client, mentor, other_mentor):
        old_token, other_token = mentor.calendar_token, other_mentor.calendar_token
        response = staff_client.post(
            changelist("mentor"),
            {"action": "regenerate_calendar_token", "_selected_action": [mentor.pk]},
            follow=True,
        )
        mentor.refresh_from_db()
        other_mentor.refresh_from_db()
        assert mentor.calendar_token != old_token
        assert other_mentor.calendar_token == other_token
        assert "1 mentor has a new calendar feed address; the old one no longer works." in response.content.decode()

    def test_user_list_shows_roles(self, finance_client, mentor, leader):
        html = finance_client.get(changelist("user")).content.decode()
        assert "Senior Leadership" in html and "Lee Leader" in html

    def test_staff_add_a_user_who_logs_in_with_their_email(self, staff_client, client, db):
        response = staff_client.post(reverse("admin:sessions_app_user_add"), {
            "email": "New.Person@Example.com",
            "full_name": "New Person",
            "groups": [Group.objects.get(name=roles.FINANCE).pk],
            "usable_password": "true",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
            "_save": "Save",
        })
        assert response.status_code == 302
        user = User.objects.get(full_name="New Person")
        assert user.email == "new.person@example.com"
        assert [g.name for g in user.groups.all()] == [roles.FINANCE]
        staff_client.logout()
        assert client.login(email="new.person@example.com", password="a-long-enough-passphrase")

    def test_an_email_differing_only_in_case_is_refused(self, staff_client, mentor):
        response = staff_client.post(reverse("admin:sessions_app_user_add"), {
            "email": "ANN@example.com", "full_name": "Another Ann", "usable_password": "true",
            "password1": PASSWORD, "password2": PASSWORD, "_save": "Save",
        })
        assert response.status_code == 200
        assert "A user with this email address already exists." in response.content.decode()
        assert not User.objects.filter(full_name="Another Ann").exists()


def test_finance_logs_in_on_the_admin_login_page(client, finance_user):
    response = client.post("/admin/login/?next=/admin/", {"username": finance_user.email,
                                                          "password": "correct-horse-battery", "next": "/admin/"})
    assert response.status_code == 302 and response.url == "/admin/"


def test_mentor_is_refused_on_the_admin_login_page(client, mentor):
    response = client.post("/admin/login/", {"username": mentor.user.email, "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert "Please enter the correct email address and password for a staff account." in response.content.decode()
