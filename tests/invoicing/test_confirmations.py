"""Nothing irreversible from the list in one click: issuing invoices or payment statements and marking them paid
first show what will happen (how many, to whom, the months, the totals, which are older than last month, which will
be refused and why), and need the button that says it. A draft's own page has Issue and Preview PDF."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from invoicing.models import Invoice, OrganisationDetails, PaymentStatement
from invoicing.services import invoices_issue, month_end_generate, statement_approve
from sessions_app.models import ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.factories import AppointmentFactory, FundingArrangementFactory, MenteeFactory, UserFactory
from tests.invoicing.helpers import CONFIRMATION, act_and_confirm, confirmation_fields, is_confirmation

LONDON = ZoneInfo("Europe/London")
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 20, 12, tzinfo=LONDON))
INVOICES = "/admin/invoicing/invoice/"
STATEMENTS = "/admin/invoicing/paymentstatement/"


@pytest.fixture(autouse=True)
def no_pdfs():
    with mock.patch("invoicing.services.documents._after_issue") as after_issue:
        yield after_issue


def session(mentor, arrangement, day: date, minutes=60):
    start = timezone.make_aware(datetime.combine(day, time(10)))
    appointment = AppointmentFactory(mentor=mentor, mentee=arrangement.mentee, starts_at=start,
                                     ends_at=start + timedelta(hours=1))
    return appointment_wrap_up(appointment_id=appointment.pk, acting_user=mentor.user,
                               answers=WrapUp(outcome=ServiceAppointment.Outcome.ATTENDED,
                                              funding_arrangement=arrangement, actual_minutes=minutes))


@pytest.fixture
def drafts(db, mentor, mentee):
    """Drafts for September (older than last month) and October 2026: SFE in both, Leeds in October."""
    sfe = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England",
                                    funder__billing_email="invoices@sfe.example", hourly_rate=Decimal("55.00"),
                                    valid_from=date(2026, 1, 1))
    leeds = FundingArrangementFactory(mentee=MenteeFactory(full_name="Priya Pupil"), funder__name="University of Leeds",
                                      hourly_rate=Decimal("60.00"), valid_from=date(2026, 1, 1))
    session(mentor, sfe, date(2026, 9, 14))
    month_end_generate(year=2026, month=9)
    session(mentor, sfe, date(2026, 10, 5))
    session(mentor, sfe, date(2026, 10, 12), minutes=30)
    session(mentor, leeds, date(2026, 10, 14))
    month_end_generate(year=2026, month=10)
    return list(Invoice.objects.order_by("period_start", "bill_to_name"))


def ask(client, url, action, objects):
    return client.post(url, {"action": action, "_selected_action": [obj.pk for obj in objects]})


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


class TestIssuingInvoices:
    def test_the_list_action_shows_what_will_happen_and_issues_nothing(self, finance_client, drafts):
        response = ask(finance_client, INVOICES, "issue_selected", drafts)
        assert response.status_code == 200 and response.templates[0].name == CONFIRMATION
        html = response.content.decode()
        assert ("<strong>3 invoices</strong> will be issued:\n    to Student Finance England, University of Leeds; "
                "period September 2026 and October 2026;\n    total £237.00 (net £197.50, VAT £39.50).") in html
        assert "1 of them is for a month before October 2026: check it should go out now." in html
        assert [row["older"] for row in response.context["changed"]] == [True, False, False]
        assert "invoices@sfe.example" in html
        assert 'value="Yes, issue 3 invoices"' in html
        assert set(Invoice.objects.values_list("status", flat=True)) == {"draft"}

    def test_the_button_issues_exactly_what_the_page_said(self, finance_client, finance_user, drafts):
        response = act_and_confirm(finance_client, INVOICES, "issue_selected", [invoice.pk for invoice in drafts])
        assert messages_of(response)[0].startswith("3 invoices issued: INV-2026-000001 to INV-2026-000003.")
        assert set(Invoice.objects.values_list("status", "issued_by")) == {("issued", finance_user.pk)}

    def test_the_button_issues_the_listed_invoices_and_no_others(self, finance_client, drafts):
        # The button posts "select all" narrowed to the listed ids: the rest of the list is never touched.
        response = act_and_confirm(finance_client, INVOICES, "issue_selected", [drafts[0].pk, drafts[2].pk])
        assert messages_of(response)[0].startswith("2 invoices issued")
        assert Invoice.objects.get(pk=drafts[1].pk).status == "draft"

    def test_a_second_submit_issues_nothing_more_and_says_so(self, finance_client, drafts):
        page = ask(finance_client, INVOICES, "issue_selected", drafts)
        data = confirmation_fields(page)
        finance_client.post(INVOICES, data, follow=True)
        numbers = sorted(Invoice.objects.values_list("number", flat=True))
        response = finance_client.post(INVOICES, data, follow=True)
        assert messages_of(response) == ["3 selected invoices were not drafts, so they were left as they were."]
        assert sorted(Invoice.objects.values_list("number", flat=True)) == numbers

    def test_a_page_out_of_date_is_shown_again_and_nothing_is_issued(self, finance_client, drafts):
        page = ask(finance_client, INVOICES, "issue_selected", drafts)
        invoices_issue(invoice_ids=[drafts[0].pk], acting_user=UserFactory(full_name="Col League"))
        response = finance_client.post(INVOICES, confirmation_fields(page))
        assert is_confirmation(response)
        assert "What this would do has changed since the page was shown" in response.content.decode()
        assert response.context["button"] == "Yes, issue 2 invoices"
        assert Invoice.objects.filter(status="draft").count() == 2

    @pytest.mark.parametrize("token", ["", "abc", "1,2,3,4,5", "\x00", "-1", "0" * 64])
    def test_a_tampered_confirmation_issues_nothing(self, finance_client, drafts, token):
        page = ask(finance_client, INVOICES, "issue_selected", drafts)
        for data in ({**confirmation_fields(page), "confirm": token},
                     {"action": "issue_selected", "post": "yes", "confirm": token,
                      "_selected_action": [invoice.pk for invoice in drafts]}):
            response = finance_client.post(INVOICES, data)
            assert is_confirmation(response)
        assert set(Invoice.objects.values_list("status", flat=True)) == {"draft"}

    @pytest.mark.parametrize("ids", ["", "abc", "\x00", "-1", "9" * 30, "987654", ",,,", "1.5"])
    def test_a_confirmation_with_ids_that_are_not_the_selection_issues_nothing(self, finance_client, drafts, ids):
        page = ask(finance_client, INVOICES, "issue_selected", drafts)
        response = finance_client.post(INVOICES, {**confirmation_fields(page), "ids": ids})
        assert response.status_code in (200, 302)
        if response.status_code == 302:
            assert messages_of(response) == ["None of the selected invoices exist any more: the page may be out of "
                                             "date. Nothing was changed."]
        assert set(Invoice.objects.values_list("status", flat=True)) == {"draft"}

    def test_more_documents_than_django_takes_fields_in_a_post_are_confirmed_in_one_field(
            self, finance_client, drafts, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 8  # a month of invoices is more than the default 1,000
        page = ask(finance_client, INVOICES, "issue_selected", drafts)
        assert len(confirmation_fields(page)) < 8
        response = finance_client.post(INVOICES, confirmation_fields(page), follow=True)
        assert messages_of(response)[0].startswith("3 invoices issued")

    def test_refused_ones_are_named_with_why_and_the_others_can_go(self, finance_client, drafts):
        OrganisationDetails.objects.filter(pk=1).update(vat_number="")
        response = ask(finance_client, INVOICES, "issue_selected", drafts)
        html = response.content.decode()
        assert "the organisation is VAT-registered but its VAT registration number is blank" in html
        assert len(response.context["refused"]) == 3 and 'id="confirm-button"' not in html
        assert set(Invoice.objects.values_list("status", flat=True)) == {"draft"}


class TestOtherActions:
    def test_marking_invoices_paid_asks_first_and_names_what_it_leaves(self, finance_client, drafts):
        invoices_issue(invoice_ids=[drafts[1].pk], acting_user=None)
        response = ask(finance_client, INVOICES, "mark_paid", drafts[:2])
        html = response.content.decode()
        assert response.context["button"] == "Yes, mark 1 invoice as paid"
        assert "a draft: it has not been issued" in html
        assert Invoice.objects.filter(status="paid").count() == 0
        response = act_and_confirm(finance_client, INVOICES, "mark_paid", [drafts[0].pk, drafts[1].pk])
        assert messages_of(response) == ["1 invoice marked as paid.",
                                         "1 selected invoice was not issued and unpaid, so it was left as it was."]

    def test_statements_are_confirmed_too(self, finance_client, drafts, mentor):
        statements = list(PaymentStatement.objects.all())
        response = ask(finance_client, STATEMENTS, "issue_selected", statements)
        assert response.context["button"] == "Yes, issue 2 payment statements"
        assert "Ann Mentor" in response.content.decode()
        assert not PaymentStatement.objects.exclude(status="draft").exists()
        act_and_confirm(finance_client, STATEMENTS, "issue_selected", [s.pk for s in statements])
        statement_approve(statement_ids=[s.pk for s in statements], acting_user=None)
        response = ask(finance_client, STATEMENTS, "mark_paid", statements)
        assert response.context["button"] == "Yes, mark 2 payment statements as paid"
        assert not PaymentStatement.objects.filter(status="paid").exists()


class TestADraftsOwnPage:
    def test_it_has_issue_and_preview_pdf(self, finance_client, drafts):
        draft = drafts[1]
        html = finance_client.get(reverse("admin:invoicing_invoice_change", args=[draft.pk])).content.decode()
        issue_url = reverse("admin:invoicing_invoice_issue", args=[draft.pk])
        assert f'href="{issue_url}" id="issue-draft">Issue</a>' in html
        assert reverse("admin:invoicing_invoice_preview_pdf", args=[draft.pk]) in html
        response = finance_client.get(issue_url)
        assert is_confirmation(response) and response.context["button"] == "Yes, issue 1 invoice"
        assert response.context["cancel_url"] == reverse("admin:invoicing_invoice_change", args=[draft.pk])
        assert Invoice.objects.get(pk=draft.pk).status == "draft"

    def test_an_issued_invoice_has_neither(self, finance_client, drafts):
        invoices_issue(invoice_ids=[drafts[0].pk], acting_user=None)
        html = finance_client.get(reverse("admin:invoicing_invoice_change", args=[drafts[0].pk])).content.decode()
        assert 'id="issue-draft"' not in html and 'id="preview-pdf"' not in html
        response = finance_client.get(reverse("admin:invoicing_invoice_issue", args=[drafts[0].pk]))
        assert response.status_code == 302 and "not a draft" in messages_of(response)[0]

    def test_the_preview_pdf_is_the_draft_as_it_would_be_issued_and_issues_nothing(self, finance_client, drafts,
                                                                                   tmp_path):
        from tests.invoicing.test_pdfs import pdf_text

        response = finance_client.get(reverse("admin:invoicing_invoice_preview_pdf", args=[drafts[1].pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        (tmp_path / "preview.pdf").write_bytes(response.content)
        text = pdf_text(tmp_path / "preview.pdf")
        assert "DRAFT (not issued)" in text and "Student Finance England" in text
        assert Invoice.objects.get(pk=drafts[1].pk).status == "draft"
        assert not Invoice.objects.exclude(number=None).exists()

    def test_a_statement_draft_has_them_too(self, finance_client, drafts):
        statement = PaymentStatement.objects.first()
        html = finance_client.get(reverse("admin:invoicing_paymentstatement_change",
                                          args=[statement.pk])).content.decode()
        assert 'id="issue-draft"' in html and 'id="preview-pdf"' in html
        response = finance_client.get(reverse("admin:invoicing_paymentstatement_preview_pdf", args=[statement.pk]))
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
        assert PaymentStatement.objects.get(pk=statement.pk).status == "draft"


def test_crediting_asks_with_a_button_that_says_what_it_does(finance_client, drafts):
    (invoice,) = invoices_issue(invoice_ids=[drafts[1].pk], acting_user=None)
    html = finance_client.get(reverse("admin:invoicing_invoice_credit", args=[invoice.pk])).content.decode()
    assert f'value="Yes, credit {invoice.number} in full (£{invoice.total})"' in html
    assert not invoice.__class__.objects.filter(status="credited").exists()
