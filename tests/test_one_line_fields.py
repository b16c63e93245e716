"""One-line fields (names, subjects, references, ...) refuse a line break when they are entered, with a clear message:
in the forms, in the Finance admin and in the services. A line break there would end up in an email header."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from invoicing.models import FinanceTicket, OrganisationDetails
from invoicing.services import ticket_raise
from sessions_app.models import CancellationReason, Funder
from tests.factories import AppointmentFactory, FunderFactory, FundingArrangementFactory, MenteeFactory, UserFactory

ONE_LINE = "This must be on one line: remove the line break."


def errors_on_page(response) -> str:
    return response.content.decode()


class TestTicketForm:
    """The wrap-up wizard's "log a ticket with Finance" page."""

    def test_a_subject_on_two_lines_is_refused_with_a_clear_message(self, mentor_client, past_appointment):
        url = reverse("appointment-ticket", args=[past_appointment.reference])
        response = mentor_client.post(url, {"subject": "Which funding\r\napplies?", "message": "Two POs on file."})
        assert response.status_code == 200
        assert ONE_LINE in errors_on_page(response)
        assert not FinanceTicket.objects.exists()

    def test_a_line_break_at_either_end_is_trimmed_and_accepted(self, mentor_client, past_appointment):
        url = reverse("appointment-ticket", args=[past_appointment.reference])
        response = mentor_client.post(url, {"subject": "Which funding applies?\r\n", "message": "Two POs\non file."})
        assert response.status_code == 302
        assert FinanceTicket.objects.get().subject == "Which funding applies?"

    def test_the_service_refuses_it_too(self, mentor, past_appointment):
        with pytest.raises(ValidationError) as refused:
            ticket_raise(raised_by=mentor.user, appointment=past_appointment, subject="Which\nfunding?", message="x")
        assert refused.value.message_dict == {"subject": [ONE_LINE]}
        assert not FinanceTicket.objects.exists()


class TestFinanceAdmin:
    def test_a_mentee_name_on_two_lines_is_refused(self, finance_client, mentee):
        response = finance_client.post(reverse("admin:sessions_app_mentee_change", args=[mentee.pk]), {
            "full_name": "Mo\nMentee", "email": mentee.email, "phone": "", "address": "1 Street\nTown",
            "funding_arrangements-TOTAL_FORMS": "0", "funding_arrangements-INITIAL_FORMS": "0",
            "funding_arrangements-MIN_NUM_FORMS": "0", "funding_arrangements-MAX_NUM_FORMS": "1000", "_save": "Save",
        })
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"full_name": [ONE_LINE]}
        mentee.refresh_from_db()
        assert mentee.full_name == "Mo Mentee"

    def test_a_funder_name_or_contact_on_two_lines_is_refused(self, finance_client):
        response = finance_client.post(reverse("admin:sessions_app_funder_add"), {
            "name": "University of\r\nNorthbridge", "billing_contact_name": "Pat\nPayer",
            "billing_email": "pat@uni.example", "billing_address": "1 Campus Road\nNorthbridge", "tax_point_rule": "continuous",
        })
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"name": [ONE_LINE], "billing_contact_name": [ONE_LINE]}
        assert not Funder.objects.exists()

    def test_a_cancellation_reason_on_two_lines_is_refused(self, finance_client):
        response = finance_client.post(reverse("admin:sessions_app_cancellationreason_add"), {
            "label": "Mentee has\nflu", "initiated_by": "mentee", "is_active": "on", "order": "0",
        })
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"label": [ONE_LINE]}
        assert not CancellationReason.objects.filter(label__contains="flu").exists()

    def test_the_organisations_name_on_two_lines_is_refused(self, finance_client):
        details = OrganisationDetails.current()
        response = finance_client.post(reverse("admin:invoicing_organisationdetails_change", args=[details.pk]), {
            "name": "Mentoring\nServices Ltd", "address": details.address, "email": "", "vat_number": "",
            "bank_details": details.bank_details, "vat_rate": "20.00", "payment_terms_days": "30",
        })
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"name": [ONE_LINE]}


@pytest.mark.parametrize("make, field", [
    (lambda: UserFactory.build(full_name="Ann\nMentor"), "full_name"),
    (lambda: MenteeFactory.build(full_name="Mo\r\nMentee"), "full_name"),
    (lambda: MenteeFactory.build(phone="0123\n456"), "phone"),
    (lambda: FunderFactory.build(name="Uni\u2028versity"), "name"),
    (lambda: FunderFactory.build(billing_contact_name="Pat\rPayer"), "billing_contact_name"),
    (lambda: FundingArrangementFactory.build(reference="PO\n123", mentee=MenteeFactory(), funder=FunderFactory()),
     "reference"),
    (lambda: CancellationReason(label="Mentee\nunwell", initiated_by="mentee"), "label"),
    (lambda: OrganisationDetails(name="Mentoring\nLtd"), "name"),
    (lambda: OrganisationDetails(vat_number="GB\n123"), "vat_number"),
])
def test_every_one_line_field_refuses_a_line_break_wherever_it_is_entered(db, make, field):
    """Model field validators: what every model form (the admin's included) checks."""
    with pytest.raises(ValidationError) as refused:
        make().full_clean()
    assert refused.value.message_dict[field] == [ONE_LINE]


def test_a_session_location_on_two_lines_is_refused(db):
    appointment = AppointmentFactory()
    appointment.location = "Room 2\nThe Library"
    with pytest.raises(ValidationError) as refused:
        appointment.full_clean()
    assert refused.value.message_dict["location"] == [ONE_LINE]


def test_a_multi_line_address_is_still_accepted(db):
    MenteeFactory.build(full_name="Mo Mentee", address="1 High Street\nLondon").full_clean()
