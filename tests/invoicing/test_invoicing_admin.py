"""Finance in the admin: billing and pay policy, pay rates, the organisation's details, and the month-end documents
(invoices, payment statements, credit notes), which are read-only and acted on through actions."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoicing.models import (
    CreditNote,
    Invoice,
    MentorPayRate,
    MonthEndRun,
    OrganisationDetails,
    OutcomePolicy,
    PaymentStatement,
)
from invoicing.services import invoice_credit, invoices_issue, month_end_generate, statements_issue
from sessions_app.models import Funder, FundingArrangement, Mentee, Mentor, ServiceAppointment
from sessions_app.services import WrapUp, appointment_wrap_up
from tests.invoicing.helpers import act_and_confirm
from tests.factories import (
    AppointmentFactory,
    FundingArrangementFactory,
    MenteeFactory,
    MentorFactory,
    UserFactory,
)

Outcome = ServiceAppointment.Outcome
OCTOBER = date(2026, 10, 1)
LONDON = ZoneInfo("Europe/London")

# The data is October 2026, wrapped up and invoiced in November: the clock reads 20 November 2026 whatever the date.
pytestmark = pytest.mark.time_machine(datetime(2026, 11, 20, 12, tzinfo=LONDON))
EDITABLE = re.compile(r'<(input(?![^>]*type="hidden")|textarea|select)[^>]*name="(?!csrfmiddlewaretoken)')


# --------------------------------------------------------------------------- data, made through the services


def wrapped_up(mentor: Mentor, mentee: Mentee, arrangement: FundingArrangement | None, day: date, *, minutes=60,
               outcome=Outcome.ATTENDED, hour=10) -> ServiceAppointment:
    """A session booked on `day` and wrapped up by its mentor (it is in the past, so it can be)."""
    start = timezone.make_aware(datetime.combine(day, time(hour)))
    appointment = AppointmentFactory(mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(hours=1))
    return appointment_wrap_up(
        appointment_id=appointment.pk, acting_user=mentor.user,
        answers=WrapUp(outcome=outcome, funding_arrangement=arrangement, session_notes="Went well.",
                       actual_minutes=minutes),
    )


@dataclass
class Month:
    """October 2026: Ann Mentor's sessions with a funded, a self-funded and another funded mentee."""

    sfe: FundingArrangement  # Mo Mentee, Student Finance England, ref. SFE-42, £55/h
    self_funded: FundingArrangement  # Sam Selfpay, £40/h
    leeds: FundingArrangement  # Priya Pupil, University of Leeds, ref. UOL-7, £60/h
    sessions: list


@pytest.fixture
def no_pdfs():
    """Issuing queues PDF rendering after commit; these tests are about the admin, not the PDFs."""
    with mock.patch("invoicing.services.documents._after_issue") as after_issue:
        yield after_issue


@pytest.fixture
def october(db, mentor, mentee, no_pdfs) -> Month:
    sfe = FundingArrangementFactory(mentee=mentee, funder__name="Student Finance England", reference="SFE-42",
                                    hourly_rate=Decimal("55.00"))
    self_funded = FundingArrangementFactory(mentee=MenteeFactory(full_name="Sam Selfpay", email="sam@example.org"),
                                            self_funded=True)
    leeds = FundingArrangementFactory(mentee=MenteeFactory(full_name="Priya Pupil"), funder__name="University of Leeds",
                                      reference="UOL-7", hourly_rate=Decimal("60.00"))
    sessions = [
        wrapped_up(mentor, mentee, sfe, date(2026, 10, 5)),
        wrapped_up(mentor, self_funded.mentee, self_funded, date(2026, 10, 7), minutes=50),
        wrapped_up(mentor, mentee, sfe, date(2026, 10, 12), minutes=45),
        wrapped_up(mentor, leeds.mentee, leeds, date(2026, 10, 14), minutes=90),
    ]
    month_end_generate(year=2026, month=10)
    return Month(sfe=sfe, self_funded=self_funded, leeds=leeds, sessions=sessions)


def invoice_for(name: str) -> Invoice:
    return Invoice.objects.exclude(status=Invoice.Status.CREDITED).get(bill_to_name=name)


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def changelist(model_name: str) -> str:
    return reverse(f"admin:invoicing_{model_name}_changelist")


def change_page(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def credit_url(invoice) -> str:
    return reverse("admin:invoicing_invoice_credit", args=[invoice.pk])


def act(client, model_name: str, action: str, objects):
    """Run an admin action on the objects (confirming it on its confirmation page, for an irreversible one),
    following the redirect back to the list (which shows the messages)."""
    return act_and_confirm(client, changelist(model_name), action, [obj.pk for obj in objects])


def listed(client, model_name: str, **params):
    response = client.get(changelist(model_name), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.fixture
def staff_client(client, db):
    client.force_login(UserFactory(full_name="Sid Staff", email="sid@example.com", is_staff=True, is_superuser=True))
    return client


# --------------------------------------------------------------------------- who gets in


MODELS = ["outcomepolicy", "mentorpayrate", "organisationdetails", "monthendrun", "invoice", "paymentstatement",
          "creditnote"]


class TestWhoGetsIn:
    @pytest.fixture
    def one_of_everything(self, october, finance_user, mentor):
        invoice = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[invoice.pk], acting_user=finance_user)
        credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason="Wrong PO.")
        return {
            "outcomepolicy": OutcomePolicy.objects.get(funder=None, outcome=Outcome.ATTENDED),
            "mentorpayrate": MentorPayRate.objects.create(mentor=mentor, hourly_rate=Decimal("32.00"),
                                                          valid_from=date(2026, 11, 1)),
            "organisationdetails": OrganisationDetails.current(),
            "monthendrun": MonthEndRun.objects.get(period_start=OCTOBER),
            "invoice": invoice,
            "paymentstatement": PaymentStatement.objects.get(),
            "creditnote": credit_note,
        }

    def test_finance_sees_the_invoicing_models_on_the_admin_index(self, finance_client, db):
        html = finance_client.get(reverse("admin:index")).content.decode()
        for model_name in MODELS:
            assert f'href="{changelist(model_name)}"' in html, model_name

    @pytest.mark.parametrize("model_name", MODELS)
    def test_finance_opens_the_list_and_the_record(self, finance_client, one_of_everything, model_name):
        obj = one_of_everything[model_name]
        response = finance_client.get(changelist(model_name), follow=True)
        assert response.status_code == 200
        if model_name == "organisationdetails":  # one row: the list is its page
            assert response.redirect_chain == [(change_page(obj), 302)]
        else:
            assert obj in response.context["cl"].result_list
        response = finance_client.get(change_page(obj))
        assert response.status_code == 200
        assert response.context["original"] == obj

    @pytest.mark.parametrize("model_name", MODELS)
    def test_staff_open_every_list_and_record(self, staff_client, one_of_everything, model_name):
        obj = one_of_everything[model_name]
        listing = staff_client.get(changelist(model_name), follow=True)
        assert listing.status_code == 200
        if model_name != "organisationdetails":  # one row: the list is its page
            assert obj in listing.context["cl"].result_list
        page = staff_client.get(change_page(obj))
        assert page.status_code == 200 and page.context["original"] == obj

    @pytest.mark.parametrize("client_fixture", ["mentor_client", "leader_client"])
    @pytest.mark.parametrize("model_name", MODELS)
    def test_mentors_and_senior_leadership_are_sent_to_the_admin_login(self, request, client_fixture, model_name):
        client = request.getfixturevalue(client_fixture)
        response = client.get(changelist(model_name))
        assert response.status_code == 302 and response.url.startswith("/admin/login/")

    def test_mentors_cannot_credit_or_run_actions(self, mentor_client, october):
        invoice = invoice_for("Student Finance England")
        response = mentor_client.post(credit_url(invoice), {"reason": "x"})
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
        act(mentor_client, "invoice", "issue_selected", [invoice])
        invoice.refresh_from_db()
        assert invoice.status == Invoice.Status.DRAFT and not CreditNote.objects.exists()

    @pytest.mark.parametrize("model_name", ["invoice", "paymentstatement", "creditnote", "monthendrun"])
    def test_documents_and_runs_cannot_be_added_or_deleted(self, finance_client, staff_client, one_of_everything,
                                                           model_name):
        obj = one_of_everything[model_name]
        assert staff_client.get(reverse(f"admin:invoicing_{model_name}_add")).status_code == 403
        assert staff_client.get(reverse(f"admin:invoicing_{model_name}_delete", args=[obj.pk])).status_code == 403
        staff_client.post(changelist(model_name), {"action": "delete_selected", "_selected_action": [obj.pk]})
        assert type(obj).objects.filter(pk=obj.pk).exists()


# --------------------------------------------------------------------------- invoices


class TestInvoiceList:
    def test_shows_number_or_draft_bill_to_period_status_and_amounts(self, finance_client, october, finance_user):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user, today=date(2026, 11, 2))
        html = finance_client.get(changelist("invoice")).content.decode()
        row = re.search(r'<tr[^>]*>(?:(?!</tr>).)*Student Finance England(?:(?!</tr>).)*</tr>', html, re.S)[0]
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        assert cells[1:] == ["INV-2026-000001", "Student Finance England", "October 2026", "Issued", "96.25",
                             "19.25", "115.50", "2 Nov 2026", "2 Dec 2026", "-"]
        assert "Draft" in html and "Sam Selfpay" in html and "University of Leeds" in html

    def test_filters_by_status_period_and_funder(self, finance_client, october, finance_user):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        def names(**params):
            return sorted(invoice.bill_to_name for invoice in listed(finance_client, "invoice", **params))

        assert names(status__exact="issued") == ["Student Finance England"]
        assert names(status__exact="draft") == ["Sam Selfpay", "University of Leeds"]
        assert names(period="2026-10") == ["Sam Selfpay", "Student Finance England", "University of Leeds"]
        assert names(period="2026-09") == []
        assert names(funder__id__exact=october.leeds.funder_id) == ["University of Leeds"]
        assert names(funder__isnull="True") == ["Sam Selfpay"]
        response = finance_client.get(changelist("invoice"))
        assert "October 2026" in response.content.decode()  # the period filter offers the months with invoices

    def test_the_funder_filter_calls_invoices_to_self_funded_mentees_self_funded(self, finance_client, october):
        response = finance_client.get(changelist("invoice"))
        (funder_filter,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "funder"]
        choices = [choice["display"] for choice in funder_filter.choices(response.context["cl"])]
        assert choices == ["All", "Student Finance England", "University of Leeds", "Self-funded"]

    def test_search_by_number_bill_to_sa_reference_or_funder_reference(self, finance_client, october, finance_user):
        sfe = invoice_for("Student Finance England")
        (issued,) = invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        def search(term):
            return sorted(invoice.bill_to_name for invoice in listed(finance_client, "invoice", q=term))

        assert search(issued.number) == ["Student Finance England"]
        assert search("selfpay") == ["Sam Selfpay"]
        assert search(october.sessions[3].reference) == ["University of Leeds"]
        assert search(october.sessions[0].reference) == ["Student Finance England"]
        assert search("UOL-7") == ["University of Leeds"]

    def test_the_list_takes_the_same_number_of_queries_for_many_invoices(self, finance_client, october, mentor):
        def queries():
            with CaptureQueriesContext(connection) as captured:
                assert finance_client.get(changelist("invoice")).status_code == 200
            return len(captured)

        few = queries()
        for n in range(5):
            arrangement = FundingArrangementFactory(mentee=MenteeFactory())
            wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 20), hour=9 + n)
        month_end_generate(year=2026, month=10)
        assert Invoice.objects.count() == 8
        assert queries() == few


class TestIssuing:
    def test_issuing_numbers_the_selected_drafts_consecutively(self, finance_client, finance_user, october):
        drafts = list(Invoice.objects.all())
        response = act(finance_client, "invoice", "issue_selected", drafts)
        assert response.redirect_chain == [(changelist("invoice"), 302)]
        assert messages_of(response) == [
            "3 invoices issued: INV-2026-000001 to INV-2026-000003. Issued as: 2 VAT invoices; 1 simplified VAT "
            "invoice: INV-2026-000001 (Sam Selfpay), whose customer has no address on file (allowed up to £250.00 "
            "including VAT)."
        ]
        numbers = dict(Invoice.objects.values_list("bill_to_name", "number"))
        assert numbers == {"Sam Selfpay": "INV-2026-000001", "Student Finance England": "INV-2026-000002",
                           "University of Leeds": "INV-2026-000003"}
        for invoice in Invoice.objects.all():
            assert invoice.status == Invoice.Status.ISSUED and invoice.issued_by == finance_user
            assert (invoice.issue_date, invoice.due_date) == (date(2026, 11, 20), date(2026, 12, 20))

    def test_numbers_start_again_each_year_from_the_issue_date(self, finance_client, finance_user, october,
                                                              time_machine):
        sam, leeds = invoice_for("Sam Selfpay"), invoice_for("University of Leeds")
        time_machine.move_to(datetime(2026, 12, 31, 23, 30, tzinfo=LONDON))
        finance_client.force_login(finance_user)  # a log-in lasts 8 hours
        act(finance_client, "invoice", "issue_selected", [sam])
        time_machine.move_to(datetime(2027, 1, 1, 0, 30, tzinfo=LONDON))
        response = act(finance_client, "invoice", "issue_selected", [leeds])
        assert messages_of(response) == ["1 invoice issued: INV-2027-000001. Issued as: 1 VAT invoice."]
        sam.refresh_from_db()
        leeds.refresh_from_db()
        assert (sam.number, sam.issue_date) == ("INV-2026-000001", date(2026, 12, 31))
        assert (leeds.number, leeds.issue_date) == ("INV-2027-000001", date(2027, 1, 1))

    def test_issuing_leaves_invoices_already_issued_as_they_were(self, finance_client, finance_user, october):
        colleague = UserFactory(full_name="Col League")
        first = invoice_for("Sam Selfpay")
        invoices_issue(invoice_ids=[first.pk], acting_user=colleague, today=date(2026, 11, 1))
        page = finance_client.post(changelist("invoice"), {
            "action": "issue_selected", "_selected_action": list(Invoice.objects.values_list("pk", flat=True))})
        assert "INV-2026-000001</a> (Sam Selfpay, October 2026): already issued as INV-2026-000001." in (
            page.content.decode())
        response = act(finance_client, "invoice", "issue_selected", Invoice.objects.all())
        assert messages_of(response) == [
            "2 invoices issued: INV-2026-000002 to INV-2026-000003. Issued as: 2 VAT invoices.",
            "1 selected invoice was not a draft, so it was left as it was.",
        ]
        first.refresh_from_db()
        assert (first.number, first.issued_by, first.issue_date) == ("INV-2026-000001", colleague, date(2026, 11, 1))

    def test_issuing_nothing_but_issued_invoices_says_so(self, finance_client, finance_user, october):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        response = act(finance_client, "invoice", "issue_selected", [sfe])
        assert messages_of(response) == ["1 selected invoice was not a draft, so it was left as it was."]

    def test_marking_paid_pays_issued_invoices_and_leaves_the_rest(self, finance_client, finance_user, october):
        sfe, sam = invoice_for("Student Finance England"), invoice_for("Sam Selfpay")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        response = act(finance_client, "invoice", "mark_paid", [sfe, sam])
        assert messages_of(response) == [
            "1 invoice marked as paid.",
            "1 selected invoice was not issued and unpaid, so it was left as it was.",
        ]
        sfe.refresh_from_db()
        sam.refresh_from_db()
        assert sfe.status == Invoice.Status.PAID and sfe.paid_at is not None
        assert sam.status == Invoice.Status.DRAFT and sam.paid_at is None


class TestInvoicePage:
    @pytest.fixture
    def issued(self, october, finance_user):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user, today=date(2026, 11, 2))
        sfe.refresh_from_db()
        return sfe

    def test_an_issued_invoice_is_shown_read_only_with_its_lines(self, finance_client, issued, october):
        response = finance_client.get(change_page(issued))
        html = response.content.decode()
        assert response.context["title"] == "View invoice"
        assert not EDITABLE.search(html)
        assert 'value="Save"' not in html
        for text in (issued.number, "Student Finance England", "SFE-42", "96.25", "19.25", "115.50",
                     "Fay Finance", october.sessions[0].reference, october.sessions[2].reference, "Mo Mentee"):
            assert text in html, text
        session_url = change_page(october.sessions[0])
        assert f'href="{session_url}">{october.sessions[0].reference}</a>' in html
        assert f'href="{credit_url(issued)}"' in html and "Credit this invoice" in html

    def test_vat_is_written_in_capitals_on_the_lists_and_pages(self, finance_client, finance_user, issued):
        credit_note = invoice_credit(invoice_id=issued.pk, acting_user=finance_user, reason="Wrong PO.")
        page = finance_client.get(change_page(issued)).content.decode()
        assert "VAT rate (%):</label>" in page and "VAT:</label>" in page
        for html in (page, finance_client.get(changelist("invoice")).content.decode(),
                     finance_client.get(changelist("creditnote")).content.decode(),
                     finance_client.get(change_page(credit_note)).content.decode()):
            assert not re.search(r"\bVat\b", html)
        assert re.search(r'class="sortable column-vat">.*?>VAT</a>', finance_client.get(changelist("invoice"))
                         .content.decode(), re.S)

    def test_posting_changes_to_an_issued_invoice_changes_nothing(self, finance_client, issued):
        before = Invoice.objects.filter(pk=issued.pk).values().get()
        response = finance_client.post(change_page(issued), {
            "bill_to_name": "Someone Else", "net": "1.00", "vat": "0.20", "total": "1.20", "status": "draft",
            "lines-TOTAL_FORMS": "0", "lines-INITIAL_FORMS": "2", "_save": "Save",
        })
        assert response.status_code == 403
        assert Invoice.objects.filter(pk=issued.pk).values().get() == before

    def test_a_draft_is_read_only_too_and_says_how_to_issue_it(self, finance_client, october):
        draft = invoice_for("Sam Selfpay")
        html = finance_client.get(change_page(draft)).content.decode()
        assert not EDITABLE.search(html)
        assert "“Issue selected invoices”" in html
        assert "Credit this invoice" not in html

    def test_the_pdf_is_linked_once_rendered(self, finance_client, issued):
        assert "Download PDF" not in finance_client.get(change_page(issued)).content.decode()
        Invoice.objects.filter(pk=issued.pk).update(pdf="invoices/2026/INV.pdf")
        html = finance_client.get(change_page(issued)).content.decode()
        assert f'href="/documents/invoice/{issued.pk}.pdf" id="download-pdf">Download PDF</a>' in html
        assert f'href="/documents/invoice/{issued.pk}.pdf">PDF</a>' in finance_client.get(
            changelist("invoice")).content.decode()


class TestCrediting:
    @pytest.fixture
    def issued(self, october, finance_user):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        sfe.refresh_from_db()
        return sfe

    def test_crediting_creates_the_credit_note_and_the_invoice_shows_credited(self, finance_client, finance_user,
                                                                           issued, no_pdfs):
        page = finance_client.get(credit_url(issued))
        assert page.status_code == 200
        assert issued.number in page.content.decode() and "£115.50" in page.content.decode()

        response = finance_client.post(credit_url(issued), {"reason": " Wrong purchase order. "})

        assert response.status_code == 302 and response.url == change_page(issued)
        assert messages_of(response) == [
            f"{issued.number} is credited by CN-2026-000001 (£115.50). Its sessions go on an invoice again at the "
            "next month-end run."
        ]
        credit_note = CreditNote.objects.get()
        assert (credit_note.invoice, credit_note.reason, credit_note.issued_by) == (
            issued, "Wrong purchase order.", finance_user)
        assert (credit_note.net, credit_note.vat, credit_note.total) == (
            Decimal("96.25"), Decimal("19.25"), Decimal("115.50"))
        html = finance_client.get(change_page(issued)).content.decode()
        assert "Credited by" in html and ">CN-2026-000001</a>" in html
        assert "Credit this invoice" not in html
        assert ">CN-2026-000001</a>" in finance_client.get(changelist("invoice")).content.decode()
        no_pdfs.assert_called_with(credit_notes=[credit_note])

    def test_a_blank_reason_shows_the_services_message(self, finance_client, issued):
        response = finance_client.post(credit_url(issued), {"reason": "   "})
        assert response.status_code == 200
        assert response.context["form"].errors == {"reason": ["Say why the invoice is being credited."]}
        assert "Say why the invoice is being credited." in response.content.decode()
        issued.refresh_from_db()
        assert issued.status == Invoice.Status.ISSUED and not CreditNote.objects.exists()

    def test_crediting_twice_says_which_credit_note_did_it(self, finance_client, finance_user, issued):
        credit_note = invoice_credit(invoice_id=issued.pk, acting_user=finance_user, reason="Duplicate.")
        response = finance_client.post(credit_url(issued), {"reason": "Again."})
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [
            f"{issued.number} has already been credited by {credit_note.number}."]
        assert CreditNote.objects.count() == 1

    def test_a_paid_invoice_can_be_credited(self, finance_client, finance_user, issued):
        act(finance_client, "invoice", "mark_paid", [issued])
        assert "Credit this invoice" in finance_client.get(change_page(issued)).content.decode()
        finance_client.post(credit_url(issued), {"reason": "Refunded."})
        issued.refresh_from_db()
        assert issued.status == Invoice.Status.CREDITED

    def test_a_draft_cannot_be_credited(self, finance_client, october):
        draft = invoice_for("Sam Selfpay")
        response = finance_client.get(credit_url(draft))
        assert response.status_code == 302 and response.url == change_page(draft)
        assert messages_of(response) == [f"{draft} is Draft: only an issued or paid invoice can be credited."]
        response = finance_client.post(credit_url(draft), {"reason": "x"})
        assert response.context["form"].non_field_errors() == [
            "A draft invoice has not been issued, so it needs no credit note."]

    def test_the_sessions_of_a_credited_invoice_are_invoiced_again(self, finance_client, issued, october):
        finance_client.post(credit_url(issued), {"reason": "Wrong purchase order."})
        summary = month_end_generate(year=2026, month=10)
        assert summary.invoices_created == 1 and summary.invoice_lines == 2
        again = invoice_for("Student Finance England")
        assert again.pk != issued.pk and again.status == Invoice.Status.DRAFT and again.total == Decimal("115.50")


# --------------------------------------------------------------------------- payment statements


class TestStatements:
    @pytest.fixture
    def statements(self, october, other_mentor, finance_user):
        arrangement = FundingArrangementFactory(mentee=MenteeFactory())
        wrapped_up(other_mentor, arrangement.mentee, arrangement, date(2026, 10, 21))
        month_end_generate(year=2026, month=10)
        ann = PaymentStatement.objects.get(mentor__user__full_name="Ann Mentor")
        olu = PaymentStatement.objects.get(mentor__user__full_name="Olu Othermentor")
        return ann, olu

    def test_list_shows_mentor_period_status_and_total_and_filters_by_mentor(self, finance_client, statements,
                                                                            mentor):
        html = finance_client.get(changelist("paymentstatement")).content.decode()
        assert "Ann Mentor" in html and "October 2026" in html and "122.50" in html and "Draft" in html
        assert listed(finance_client, "paymentstatement", mentor__id__exact=mentor.pk) == [statements[0]]
        assert listed(finance_client, "paymentstatement", q="olu@example.com") == [statements[1]]
        assert listed(finance_client, "paymentstatement", status__exact="draft", period="2026-10") != []

    def test_issue_then_approve_then_mark_paid(self, finance_client, finance_user, statements):
        ann, olu = statements
        response = act(finance_client, "paymentstatement", "issue_selected", [ann, olu])
        assert messages_of(response) == ["2 statements issued: PAY-2026-000001 to PAY-2026-000002."]

        response = act(finance_client, "paymentstatement", "approve", [ann])
        assert messages_of(response) == ["1 statement approved for payment."]
        ann.refresh_from_db()
        assert ann.status == PaymentStatement.Status.APPROVED and ann.approved_by == finance_user

        response = act(finance_client, "paymentstatement", "mark_paid", [ann])
        assert messages_of(response) == ["1 statement marked as paid."]
        ann.refresh_from_db()
        assert ann.status == PaymentStatement.Status.PAID and ann.paid_at is not None

    def test_paying_before_approving_is_refused_with_a_message(self, finance_client, finance_user, statements):
        ann, olu = statements
        statements_issue(statement_ids=[ann.pk, olu.pk], acting_user=finance_user)
        response = act(finance_client, "paymentstatement", "mark_paid", [ann])
        assert messages_of(response) == [
            "1 selected statement was not approved for payment, so it was left as it was: approve a statement "
            "before marking it paid."
        ]
        ann.refresh_from_db()
        assert ann.status == PaymentStatement.Status.ISSUED and ann.paid_at is None

    def test_approving_a_draft_is_refused_with_a_message(self, finance_client, statements):
        ann, _ = statements
        response = act(finance_client, "paymentstatement", "approve", [ann])
        assert messages_of(response) == [
            "1 selected statement was not issued and awaiting approval, so it was left as it was."]
        ann.refresh_from_db()
        assert ann.status == PaymentStatement.Status.DRAFT

    def test_a_statement_page_is_read_only_with_its_lines(self, finance_client, finance_user, statements, october):
        ann, _ = statements
        statements_issue(statement_ids=[ann.pk], acting_user=finance_user)
        response = finance_client.get(change_page(ann))
        html = response.content.decode()
        assert response.context["title"] == "View payment statement"
        assert not EDITABLE.search(html)
        for session in october.sessions:
            assert session.reference in html
        assert "122.50" in html and "Approve selected statements for payment" in html
        before = PaymentStatement.objects.filter(pk=ann.pk).values().get()
        assert finance_client.post(change_page(ann), {"total": "1000.00", "_save": "Save"}).status_code == 403
        assert PaymentStatement.objects.filter(pk=ann.pk).values().get() == before

    def test_the_pdf_is_linked_once_rendered(self, finance_client, finance_user, statements):
        ann, _ = statements
        statements_issue(statement_ids=[ann.pk], acting_user=finance_user)
        PaymentStatement.objects.filter(pk=ann.pk).update(pdf="statements/2026/PAY.pdf")
        html = finance_client.get(change_page(ann)).content.decode()
        assert f'href="/documents/statement/{ann.pk}.pdf" id="download-pdf">Download PDF</a>' in html

    def test_the_list_takes_the_same_number_of_queries_for_many_statements(self, finance_client, statements):
        def queries():
            with CaptureQueriesContext(connection) as captured:
                assert finance_client.get(changelist("paymentstatement")).status_code == 200
            return len(captured)

        few = queries()
        for n in range(4):
            mentor = MentorFactory()
            arrangement = FundingArrangementFactory(mentee=MenteeFactory())
            wrapped_up(mentor, arrangement.mentee, arrangement, date(2026, 10, 22), hour=9 + n)
        month_end_generate(year=2026, month=10)
        assert PaymentStatement.objects.count() == 6
        assert queries() == few


class TestCreditNotes:
    def test_credit_notes_are_listed_read_only_with_their_invoice(self, finance_client, finance_user, october):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        credit_note = invoice_credit(invoice_id=sfe.pk, acting_user=finance_user, reason="Wrong PO.")
        sfe.refresh_from_db()
        html = finance_client.get(changelist("creditnote")).content.decode()
        assert credit_note.number in html and f'href="{change_page(sfe)}">{sfe.number}</a>' in html
        assert "Student Finance England" in html and "115.50" in html
        response = finance_client.get(change_page(credit_note))
        assert response.context["title"] == "View credit note"
        assert "Wrong PO." in response.content.decode()
        assert finance_client.post(change_page(credit_note), {"reason": "Changed"}).status_code == 403
        credit_note.refresh_from_db()
        assert credit_note.reason == "Wrong PO."


# --------------------------------------------------------------------------- exports from the admin


class TestExportActions:
    def test_exporting_invoice_lines_downloads_a_csv(self, finance_client, finance_user, october):
        issued = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)),
                                acting_user=finance_user)
        response = act(finance_client, "invoice", "export_lines", Invoice.objects.all())
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == (
            f'attachment; filename="invoice-lines-2026-11-20.csv"')
        raw = b"".join(response.streaming_content)
        assert raw.startswith(b"\xef\xbb\xbfType,Number,Issue date,")  # UTF-8's byte-order mark, for Excel
        content = raw.decode()
        assert content.count("\r\n") == 1 + 4  # the header and one row per session
        assert all(invoice.number in content for invoice in issued)

    def test_exporting_only_drafts_says_there_is_nothing_to_export(self, finance_client, october):
        response = act(finance_client, "invoice", "export_lines", Invoice.objects.all())
        assert response.redirect_chain == [(changelist("invoice"), 302)]
        assert messages_of(response) == [
            "None of the selected invoices has been issued, so there is nothing to export."]

    def test_exporting_payments_downloads_the_approved_statements(self, finance_client, finance_user, october,
                                                                 other_mentor):
        arrangement = FundingArrangementFactory(mentee=MenteeFactory())
        wrapped_up(other_mentor, arrangement.mentee, arrangement, date(2026, 10, 21))
        month_end_generate(year=2026, month=10)
        statements = statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                                      acting_user=finance_user)
        act(finance_client, "paymentstatement", "approve", [statements[0]])
        response = act(finance_client, "paymentstatement", "export_payments", PaymentStatement.objects.all())
        assert response["Content-Disposition"] == (
            'attachment; filename="payments-2026-11-20.csv"')
        rows = b"".join(response.streaming_content).decode().splitlines()
        assert rows == [
            "\ufeffMentor,Email,Statement number,Period,Amount,Payment reference",
            f"Ann Mentor,ann@example.com,{statements[0].number},2026-10,122.50,{statements[0].number}",
        ]

    def test_exporting_payments_with_none_approved_says_to_approve_first(self, finance_client, october):
        response = act(finance_client, "paymentstatement", "export_payments", PaymentStatement.objects.all())
        assert response.redirect_chain == [(changelist("paymentstatement"), 302)]
        assert messages_of(response) == ["None of the selected statements is approved for payment: approve them first."]

    def test_exporting_credit_notes_downloads_negative_rows(self, finance_client, finance_user, october):
        sfe = invoice_for("Student Finance England")
        invoices_issue(invoice_ids=[sfe.pk], acting_user=finance_user)
        credit_note = invoice_credit(invoice_id=sfe.pk, acting_user=finance_user, reason="Wrong PO.")
        response = act(finance_client, "creditnote", "export_lines", [credit_note])
        rows = b"".join(response.streaming_content).decode().splitlines()
        assert len(rows) == 3
        assert all(row.startswith(f"Credit note,{credit_note.number},") for row in rows[1:])
        assert rows[1].endswith(",-1.00,55.00,-55.00,20.00,-11.00,-66.00")


# --------------------------------------------------------------------------- policy, rates, our details, runs


class TestPolicy:
    def test_the_list_shows_default_and_funder_rules_with_billed_and_paid(self, finance_client, db):
        funder = Funder.objects.create(name="Student Finance England")
        OutcomePolicy.objects.create(funder=funder, outcome=Outcome.DID_NOT_ATTEND, billed=False, paid=True)
        response = finance_client.get(changelist("outcomepolicy"))
        rows = [(p.funder.name if p.funder else None, p.outcome) for p in response.context["cl"].result_list]
        assert rows == [(None, "attended"), (None, "cancelled"), (None, "did_not_attend"),
                        (None, "late_cancellation"), ("Student Finance England", "did_not_attend")]
        html = response.content.decode()
        assert "Default (every other funder, and self-funded)" in html
        assert "Billed" in html and "Mentor paid" in html
        assert 'name="form-0-billed"' in html and 'name="form-0-paid"' in html  # editable in the list

    def test_the_funder_filter_calls_the_rules_without_a_funder_the_default(self, finance_client, db):
        OutcomePolicy.objects.create(funder=Funder.objects.create(name="University of Leeds"), outcome="attended",
                                     billed=True, paid=True)
        response = finance_client.get(changelist("outcomepolicy"))
        (funder_filter,) = [spec for spec in response.context["cl"].filter_specs if spec.title == "funder"]
        choices = [choice["display"] for choice in funder_filter.choices(response.context["cl"])]
        assert choices == ["All", "University of Leeds", "Default (every other funder, and self-funded)"]

    def test_finance_changes_whether_an_outcome_is_billed_from_the_list(self, finance_client, db):
        # The list's forms, in the list's order: each as shown, but "Did not attend" no longer billed.
        response = finance_client.get(changelist("outcomepolicy"))
        order = [p.pk for p in response.context["cl"].result_list]
        data = {"form-TOTAL_FORMS": len(order), "form-INITIAL_FORMS": len(order), "_save": "Save"}
        for i, pk in enumerate(order):
            policy = OutcomePolicy.objects.get(pk=pk)
            data[f"form-{i}-id"] = pk
            if policy.billed and policy.outcome != Outcome.DID_NOT_ATTEND:
                data[f"form-{i}-billed"] = "on"
            if policy.paid:
                data[f"form-{i}-paid"] = "on"
        assert finance_client.post(changelist("outcomepolicy"), data).status_code == 302
        rule = OutcomePolicy.objects.get(funder=None, outcome=Outcome.DID_NOT_ATTEND)
        assert (rule.billed, rule.paid) == (False, True)
        assert OutcomePolicy.objects.get(funder=None, outcome=Outcome.ATTENDED).billed

    def test_a_second_rule_for_the_same_outcome_is_refused_plainly(self, finance_client, db):
        funder = Funder.objects.create(name="Student Finance England")
        OutcomePolicy.objects.create(funder=funder, outcome=Outcome.ATTENDED, billed=True, paid=True)
        add = reverse("admin:invoicing_outcomepolicy_add")
        response = finance_client.post(add, {"funder": funder.pk, "outcome": "attended", "billed": "on"})
        assert response.context["adminform"].form.errors == {
            "outcome": ["Student Finance England already has a rule for Attended: change that one instead."]}
        response = finance_client.post(add, {"funder": "", "outcome": "attended", "billed": "on"})
        assert response.context["adminform"].form.errors == {
            "outcome": ["The default already has a rule for Attended: change that one instead."]}
        response = finance_client.post(add, {"funder": funder.pk, "outcome": "did_not_attend", "paid": "on"})
        assert response.status_code == 302
        assert OutcomePolicy.objects.filter(funder=funder).count() == 2

    def test_a_default_rule_cannot_be_deleted_but_a_funders_can(self, finance_client, db):
        default = OutcomePolicy.objects.get(funder=None, outcome=Outcome.ATTENDED)
        assert finance_client.get(reverse("admin:invoicing_outcomepolicy_delete", args=[default.pk])).status_code == 403
        funder_rule = OutcomePolicy.objects.create(funder=Funder.objects.create(name="Leeds"),
                                                   outcome=Outcome.ATTENDED, billed=False, paid=True)
        finance_client.post(reverse("admin:invoicing_outcomepolicy_delete", args=[funder_rule.pk]), {"post": "yes"})
        assert not OutcomePolicy.objects.filter(pk=funder_rule.pk).exists()
        assert OutcomePolicy.objects.filter(pk=default.pk).exists()

    def test_a_funder_rule_changes_what_the_month_end_bills(self, finance_client, october):
        leeds = october.leeds.funder
        finance_client.post(reverse("admin:invoicing_outcomepolicy_add"),
                            {"funder": leeds.pk, "outcome": "attended", "paid": "on"})
        arrangement = FundingArrangementFactory(mentee=MenteeFactory(), funder=leeds)
        wrapped_up(october.sessions[0].mentor, arrangement.mentee, arrangement, date(2026, 10, 28))
        summary = month_end_generate(year=2026, month=10)
        assert (summary.invoice_lines, summary.statement_lines) == (0, 1)  # paid, not billed


class TestPayRates:
    def test_finance_adds_a_pay_rate_change_for_a_mentor(self, finance_client, mentor):
        add = reverse("admin:invoicing_mentorpayrate_add")
        assert f'value="{mentor.pk}" selected' in finance_client.get(add, {"mentor": mentor.pk}).content.decode()
        response = finance_client.post(add, {"mentor": mentor.pk, "valid_from": "2026-11-01", "hourly_rate": "32.50"})
        assert response.status_code == 302
        rate = MentorPayRate.objects.get()
        assert (rate.mentor, rate.valid_from, rate.hourly_rate) == (mentor, date(2026, 11, 1), Decimal("32.50"))

    def test_the_list_filters_by_mentor(self, finance_client, mentor, other_mentor):
        ann = MentorPayRate.objects.create(mentor=mentor, hourly_rate=Decimal("31"), valid_from=date(2026, 1, 1))
        MentorPayRate.objects.create(mentor=other_mentor, hourly_rate=Decimal("35"), valid_from=date(2026, 1, 1))
        assert listed(finance_client, "mentorpayrate", mentor__id__exact=mentor.pk) == [ann]
        assert listed(finance_client, "mentorpayrate", q="Ann") == [ann]

    def test_finance_edits_pay_rate_changes_on_the_mentor_page(self, finance_client, mentor):
        MentorPayRate.objects.create(mentor=mentor, hourly_rate=Decimal("33.00"), valid_from=date(2026, 6, 1))
        html = finance_client.get(change_page(mentor)).content.decode()
        assert 'name="pay_rates-0-hourly_rate" value="33.00"' in html
        assert f'href="{reverse("admin:invoicing_mentorpayrate_add")}?mentor={mentor.pk}"' in html
        rate = mentor.pay_rates.get()
        response = finance_client.post(change_page(mentor), {
            "user": mentor.user_id, "hourly_pay_rate": "30.00", "is_active": "on",
            "pay_rates-TOTAL_FORMS": "2", "pay_rates-INITIAL_FORMS": "1",
            "pay_rates-0-id": rate.pk, "pay_rates-0-mentor": mentor.pk,
            "pay_rates-0-valid_from": "2026-06-01", "pay_rates-0-hourly_rate": "33.00",
            "pay_rates-1-mentor": mentor.pk, "pay_rates-1-valid_from": "2026-12-01",
            "pay_rates-1-hourly_rate": "34.00", "_save": "Save",
        })
        assert response.status_code == 302
        assert list(mentor.pay_rates.values_list("valid_from", "hourly_rate")) == [
            (date(2026, 6, 1), Decimal("33.00")), (date(2026, 12, 1), Decimal("34.00"))]

    def test_without_permission_to_change_the_mentor_the_pay_rates_are_read_only(self, client, mentor):
        viewer = UserFactory(is_staff=True)
        viewer.user_permissions.add(*Permission.objects.filter(
            codename__in=["view_mentor", "view_mentorpayrate", "add_mentorpayrate", "change_mentorpayrate"]))
        MentorPayRate.objects.create(mentor=mentor, hourly_rate=Decimal("33.00"), valid_from=date(2026, 6, 1))
        client.force_login(viewer)
        html = client.get(change_page(mentor)).content.decode()
        assert "33.00" in html and 'name="pay_rates-0-hourly_rate"' not in html


class TestOrganisationDetails:
    def test_one_row_edited_in_place_never_added_or_deleted(self, finance_client, staff_client, db):
        details = OrganisationDetails.current()
        page = reverse("admin:invoicing_organisationdetails_change", args=[details.pk])
        assert finance_client.get(changelist("organisationdetails")).url == page
        assert staff_client.get(reverse("admin:invoicing_organisationdetails_add")).status_code == 403
        assert staff_client.get(reverse("admin:invoicing_organisationdetails_delete", args=[1])).status_code == 403
        response = finance_client.post(page, {
            "name": "Mentoring Services Ltd", "address": "2 High Street", "email": "accounts@example.com",
            "vat_number": "GB123456789", "bank_details": "Sort code 11-22-33", "vat_rate": "20.00",
            "payment_terms_days": "14", "_save": "Save",
        })
        assert response.status_code == 302
        details.refresh_from_db()
        assert (details.payment_terms_days, details.vat_number, details.issue_automatically) == (
            14, "GB123456789", False)
        assert OrganisationDetails.objects.count() == 1


class TestMonthEndRuns:
    def test_runs_are_listed_read_only_with_links_to_their_documents(self, finance_client, october):
        month_end_generate(year=2026, month=10)
        run = MonthEndRun.objects.get()
        html = finance_client.get(changelist("monthendrun")).content.decode()
        assert "October 2026" in html
        assert f'href="{changelist("invoice")}?period=2026-10">Invoices</a>' in html
        response = finance_client.get(change_page(run))
        assert response.status_code == 200 and response.context["title"] == "View month end run"
        assert finance_client.post(change_page(run), {"runs": "0"}).status_code == 403
        run.refresh_from_db()
        assert run.runs == 2
