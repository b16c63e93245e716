"""PDFs of invoices, credit notes and payment statements: what they say, rendered once, and who may download them.

The PDFs' text is read back with `pdftotext -layout`; `shows()` looks for cells next to each other on one line,
`words()` for running text whatever its line breaks.
"""

import re
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invoicing.models import CreditNote, Invoice, InvoiceLine, OrganisationDetails, PaymentStatement
from invoicing.services import invoice_credit, invoices_issue, month_end_generate, statements_issue
from invoicing.services import pdf as pdf_service
from invoicing.tasks import render_invoice_pdf, render_statement_pdf
from sessions_app.models import ServiceAppointment
from sessions_app.selectors import payment_statements_of
from invoicing.views import document_pdf_link, document_pdf_url
from tests.factories import (
    AppointmentFactory,
    FunderFactory,
    FundingArrangementFactory,
    MenteeFactory,
    MentorFactory,
)

Outcome = ServiceAppointment.Outcome
ISSUE_DAY = date(2026, 3, 31)
SELF_BILLING = (
    "Issued by Brightpath Mentoring Ltd on behalf of Ann Mentor under our self-billing agreement. Ann Mentor does "
    "not invoice us for these sessions: this statement takes the place of their invoice. No VAT is charged: Ann "
    "Mentor has told us they are not registered for VAT, and will tell us straight away if that changes."
)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Rendered PDFs go to a folder of the test's own, not the project's media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def org(db):
    details, _ = OrganisationDetails.objects.update_or_create(pk=1, defaults=dict(
        name="Brightpath Mentoring Ltd",
        address="12 Canal Street\nManchester\nM1 3HE",
        vat_number="GB 123 4567 89",
        vat_rate=Decimal("20.00"),
        payment_terms_days=30,
        bank_details="Account name: Brightpath Mentoring Ltd\nSort code: 20-00-00\nAccount number: 12345678",
        email="accounts@brightpath.example",
        issue_automatically=False,
    ))
    return details


def at(day: int, hour: int = 10, month: int = 3) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour))


def completed_session(*, mentor, mentee, arrangement, day, booked=60, actual=None, outcome=Outcome.ATTENDED, by=None):
    start = at(day)
    return AppointmentFactory(
        mentor=mentor, mentee=mentee, starts_at=start, ends_at=start + timedelta(minutes=booked),
        status=ServiceAppointment.Status.COMPLETED, outcome=outcome, funding_arrangement=arrangement,
        actual_minutes=actual, wrapped_up_by=by or mentor.user, wrapped_up_at=start + timedelta(hours=2),
    )


@pytest.fixture
def funder(db):
    return FunderFactory(name="Student Finance England", billing_contact_name="Accounts Payable",
                         billing_email="invoices@sfe.example", billing_address="PO Box 210\nDarlington\nDL1 9HJ")


@pytest.fixture
def march(org, funder, mentor, leader):
    """Three of Ann Mentor's sessions with Mo Mentee in March 2026, funded by Student Finance England at £55/h
    (PO-7781); Ann is paid £30/h. Senior Leadership wrapped up the third on Ann's behalf. Month end has run."""
    mentee = MenteeFactory(full_name="Mo Mentee", email="mo@example.org")
    arrangement = FundingArrangementFactory(mentee=mentee, funder=funder, reference="PO-7781",
                                            hourly_rate=Decimal("55.00"))
    sessions = [
        completed_session(mentor=mentor, mentee=mentee, arrangement=arrangement, day=3),
        completed_session(mentor=mentor, mentee=mentee, arrangement=arrangement, day=10, actual=90),
        completed_session(mentor=mentor, mentee=mentee, arrangement=arrangement, day=17, booked=45,
                          outcome=Outcome.LATE_CANCELLATION, by=leader),
    ]
    month_end_generate(year=2026, month=3)
    return sessions


def issue_all(finance_user, capture, today=ISSUE_DAY):
    """Issue every draft, running what is queued on commit: the PDF tasks, and the emails they queue."""
    with capture(execute=True):
        invoices = invoices_issue(invoice_ids=list(Invoice.objects.values_list("pk", flat=True)),
                                  acting_user=finance_user, today=today)
        statements = statements_issue(statement_ids=list(PaymentStatement.objects.values_list("pk", flat=True)),
                                      acting_user=finance_user, today=today)
    for document in invoices + statements:
        document.refresh_from_db()
    return invoices, statements


@pytest.fixture
def issued(march, finance_user, django_capture_on_commit_callbacks):
    """March's invoice and Ann's statement, issued on 31 March 2026 and rendered."""
    invoices, statements = issue_all(finance_user, django_capture_on_commit_callbacks)
    (invoice,), (statement,) = invoices, statements
    return invoice, statement


def credit(invoice, finance_user, capture, reason="The session on 17 March was charged at the wrong rate."):
    with capture(execute=True):
        credit_note = invoice_credit(invoice_id=invoice.pk, acting_user=finance_user, reason=reason,
                                     today=date(2026, 4, 2))
    credit_note.refresh_from_db()
    return credit_note


def pdf_text(path, *, mode="-layout") -> str:
    return subprocess.run(["pdftotext", mode, str(path), "-"], check=True, capture_output=True, text=True).stdout


def shows(text: str, *cells: str) -> bool:
    """The cells appear on one line of the PDF's text, in order, with only space between them and around them.
    (`pdftotext -layout` sometimes drops a space inside a short cell, "1h" for "1 h", so that is allowed.)"""
    pattern = re.compile(
        r"(?:^|\s)" + r"\s+".join(re.escape(cell).replace(r"\ ", r"\s?") for cell in cells) + r"(?:\s|$)"
    )
    return any(pattern.search(line) for line in text.splitlines())


def words(path) -> str:
    """The PDF's text in the order it was written, as one line: for sentences, wherever they wrap."""
    return " ".join(pdf_text(path, mode="-raw").split())


# ---------------------------------------------------------------- invoices

def test_an_issued_invoice_has_everything_a_uk_vat_invoice_needs(issued):
    invoice, _ = issued
    assert invoice.number == "INV-2026-000001"
    assert invoice.pdf.name == "invoices/2026/INV-2026-000001.pdf"
    text = pdf_text(invoice.pdf.path)

    assert shows(text, "Brightpath Mentoring Ltd", "INVOICE")
    for cells in [
        ("Invoice number", "INV-2026-000001"),
        ("Invoice date", "31 March 2026"),
        ("Tax point", "31 March 2026"),
        ("Payment due", "30 April 2026"),
        ("Your reference", "PO-7781"),
    ]:
        assert shows(text, *cells), cells
    flat = words(invoice.pdf.path)
    assert "12 Canal Street Manchester M1 3HE VAT registration number: GB 123 4567 89" in flat
    assert shows(text, "Student Finance England", "Mentoring sessions")  # customer, and what was supplied
    assert shows(text, "Accounts Payable", "Time of supply: 1–31 March 2026")
    assert shows(text, "PO Box 210", "3 sessions, 3 h 15 min")
    assert shows(text, "Darlington")
    assert shows(text, "DL1 9HJ")

    assert shows(text, "Date", "Session", "Mentee", "Description", "Duration", "Rate", "VAT", "Net")
    assert shows(text, "3 Mar 2026", "SA-000001", "Mo Mentee", "Mentoring session", "1 h 00 min", "£55.00/h", "20%", "£55.00")
    assert shows(text, "10 Mar 2026", "SA-000002", "Mo Mentee", "Mentoring session", "1 h 30 min", "£55.00/h", "20%",
                 "£82.50")
    assert shows(text, "17 Mar 2026", "SA-000003", "Mo Mentee", "Mentoring session", "0 h 45 min", "£55.00/h", "20%",
                 "£41.25")
    # The line's rule ("Late-notice cancellation, full booked time charged"), wrapped in its column.
    assert shows(text, "Late-notice cancellation,") and "booked time charged" in text

    assert shows(text, "Total excluding VAT", "£178.75")
    assert shows(text, "VAT at 20%", "£35.75")
    assert shows(text, "Total due", "£214.50")
    assert (invoice.net, invoice.vat, invoice.total) == (Decimal("178.75"), Decimal("35.75"), Decimal("214.50"))
    assert ("Payment is due within 30 days of the invoice date. Please pay £214.50 by 30 April 2026, quoting "
            "INV-2026-000001 as the payment reference.") in flat
    assert "Account name: Brightpath Mentoring Ltd Sort code: 20-00-00 Account number: 12345678" in flat
    assert shows(text, "Brightpath Mentoring Ltd · VAT registration number GB 123 4567 89",
                 "INV-2026-000001 · page 1 of 1")


def issued_invoice(org, funder, *, number="INV-2026-000042", lines=(), period=(date(2026, 3, 1), date(2026, 3, 31))):
    """An issued invoice made directly, with lines given as (day, minutes, is_late)."""
    mentee = MenteeFactory(full_name="Rae Student")
    invoice = Invoice.objects.create(
        number=number, status=Invoice.Status.ISSUED, period_start=period[0], period_end=period[1],
        group_key=f"funder:{funder.pk}", funder=funder, bill_to_name=funder.name, bill_to_email=funder.billing_email,
        bill_to_address=funder.billing_address, vat_rate=Decimal("20.00"), issue_date=period[1],
        due_date=period[1] + timedelta(days=30), issued_at=timezone.now(),
    )
    net = Decimal("0.00")
    for day, minutes, late in lines:
        appointment = AppointmentFactory(mentee=mentee, starts_at=timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=9))
        amount = (Decimal(minutes) * Decimal("60.00") / 60).quantize(Decimal("0.01"))
        InvoiceLine.objects.create(invoice=invoice, appointment=appointment, session_date=day,
                                   reference=appointment.reference, mentee_name=mentee.full_name,
                                   outcome=Outcome.ATTENDED, minutes=minutes, hourly_rate=Decimal("60.00"),
                                   net=amount, is_late=late)
        net += amount
    vat = (net * Decimal("0.20")).quantize(Decimal("0.01"))
    Invoice.objects.filter(pk=invoice.pk).update(net=net, vat=vat, total=net + vat)
    invoice.refresh_from_db()
    return invoice


def test_a_late_session_from_an_earlier_month_widens_the_time_of_supply_and_is_marked(org, funder):
    invoice = issued_invoice(org, funder, lines=[(date(2026, 2, 20), 60, True), (date(2026, 3, 5), 30, False)])
    pdf_service.invoice_render_pdf(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    text = pdf_text(invoice.pdf.path)
    assert shows(text, "Time of supply: 20 February – 31 March 2026")
    assert shows(text, "20 Feb 2026 *", "SA-000001", "Rae Student", "Mentoring session", "1 h 00 min", "£60.00/h", "20%",
                 "£60.00")
    assert shows(text, "5 Mar 2026", "SA-000002", "Rae Student", "Mentoring session", "0 h 30 min", "£60.00/h", "20%",
                 "£30.00")
    assert "* A session from an earlier month, wrapped up after that month's invoice was issued." in words(
        invoice.pdf.path)
    assert shows(text, "Total due", "£108.00")


def test_a_long_invoice_runs_onto_more_pages_repeating_the_column_headings(org, funder):
    lines = [(date(2026, 3, 1) + timedelta(days=i % 28), 60, False) for i in range(45)]
    invoice = issued_invoice(org, funder, lines=lines)
    pdf_service.invoice_render_pdf(invoice_id=invoice.pk)
    invoice.refresh_from_db()
    text = pdf_text(invoice.pdf.path)
    pages = [page for page in text.split("\f") if page.strip()]
    assert len(pages) == 3
    for number, page in enumerate(pages, start=1):
        assert shows(page, f"INV-2026-000042 · page {number} of 3")
        assert shows(page, "Date", "Session", "Mentee", "Description", "Duration", "Rate", "VAT", "Net")
    assert shows(pages[-1], "Total excluding VAT", "£2,700.00")
    assert shows(pages[-1], "Total due", "£3,240.00")
    assert [n for n in range(1, 46) if not shows(text, f"SA-{n:06d}")] == []


def test_a_draft_invoice_is_not_rendered(march):
    invoice = Invoice.objects.get()
    assert invoice.status == Invoice.Status.DRAFT
    render_invoice_pdf.delay(invoice.pk)
    invoice.refresh_from_db()
    assert not invoice.pdf
    assert not default_storage.exists("invoices")


def test_rendering_again_keeps_the_stored_pdf_and_renders_nothing(issued):
    invoice, _ = issued
    stored = invoice.pdf.name
    before = Path(invoice.pdf.path).read_bytes()
    with mock.patch.object(pdf_service, "html_to_pdf", wraps=pdf_service.html_to_pdf) as render:
        render_invoice_pdf.delay(invoice.pk)
        render_invoice_pdf.delay(invoice.pk)
    assert render.call_count == 0
    invoice.refresh_from_db()
    assert invoice.pdf.name == stored
    assert Path(invoice.pdf.path).read_bytes() == before
    assert sorted(p.name for p in Path(invoice.pdf.path).parent.iterdir()) == [
        f"INV-2026-000001-a{invoice.funding_arrangement_id}-timesheet-2026-03-po-7781.pdf",
        "INV-2026-000001.pdf"]  # its timesheet, sent with it (the arrangement's id says whose)


def test_a_pdf_whose_file_was_lost_is_rendered_again(issued):
    invoice, _ = issued
    default_storage.delete(invoice.pdf.name)
    render_invoice_pdf.delay(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.pdf.name == "invoices/2026/INV-2026-000001.pdf"
    assert shows(pdf_text(invoice.pdf.path), "Total due", "£214.50")


def test_a_pdf_rendered_again_in_a_later_year_is_filed_under_its_own_year(issued, time_machine):
    invoice, _ = issued
    default_storage.delete(invoice.pdf.name)
    time_machine.move_to(datetime(2027, 1, 4, 9, tzinfo=ZoneInfo("Europe/London")))
    render_invoice_pdf.delay(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.pdf.name == "invoices/2026/INV-2026-000001.pdf"


def test_two_renders_racing_keep_the_first_file(org, funder):
    invoice = issued_invoice(org, funder, lines=[(date(2026, 3, 5), 60, False)])
    pdf = pdf_service.html_to_pdf(pdf_service.invoice_html(invoice, inline_css=False))
    first, stored = pdf_service._store(invoice, pdf)
    second, stored_again = pdf_service._store(invoice, pdf)
    assert (first, stored, second, stored_again) == ("invoices/2026/INV-2026-000042.pdf", True, first, False)
    assert len(list(Path(default_storage.path("invoices/2026")).iterdir())) == 1


def test_the_html_stands_alone_and_renders_bare_to_the_same_pages(issued, tmp_path):
    """`invoice_html` inlines the stylesheet, so WeasyPrint given just the string draws what the service stored."""
    from weasyprint import HTML

    invoice, _ = issued
    bare = tmp_path / "bare.pdf"
    HTML(string=pdf_service.invoice_html(invoice)).write_pdf(bare)
    assert pdf_text(bare) == pdf_text(invoice.pdf.path)
    pixels = []
    for path in (bare, Path(invoice.pdf.path)):
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / path.stem)], check=True)
        pixels.append((tmp_path / f"{path.stem}-1.png").read_bytes())
    assert pixels[0] == pixels[1]


def test_documents_fetch_nothing_from_the_network(org):
    html = ('<link rel="stylesheet" href="https://cdn.example.com/x.css"><img src="http://example.com/logo.png">'
            '<img src="logo.png"><p>Hello</p>')
    with mock.patch("urllib.request.OpenerDirector.open", side_effect=AssertionError("fetched")) as opened:
        pdf = pdf_service.html_to_pdf(html)
    assert pdf.startswith(b"%PDF") and not opened.called


def test_money_and_durations_read_as_people_write_them():
    assert pdf_service.money(Decimal("1234.5")) == "£1,234.50"
    assert pdf_service.money(Decimal("-12.00")) == "-£12.00"
    # One format for every duration, so that a column of them reads alike (not "1 h" above "45 min").
    assert [pdf_service.duration(m) for m in (45, 60, 90, 125)] == ["0 h 45 min", "1 h 00 min", "1 h 30 min",
                                                                    "2 h 05 min"]
    assert [pdf_service.percent(Decimal(r)) for r in ("20.00", "17.50", "0.00")] == ["20%", "17.5%", "0%"]


# ---------------------------------------------------------------- statements and credit notes

def test_the_payment_statement_lists_each_session_who_wrapped_it_up_and_says_it_is_self_billing(issued):
    _, statement = issued
    assert statement.number == "PAY-2026-000001"
    assert statement.pdf.name == "statements/2026/PAY-2026-000001.pdf"
    text = pdf_text(statement.pdf.path)
    assert shows(text, "Brightpath Mentoring Ltd", "PAYMENT STATEMENT")
    assert shows(text, "Self-billing invoice")
    assert shows(text, "Statement number", "PAY-2026-000001")
    assert shows(text, "Date", "31 March 2026")
    assert shows(text, "Period", "1–31 March 2026")
    assert shows(text, "Ann Mentor", "Brightpath Mentoring Ltd")  # supplier (paid), and customer (issuer)
    assert SELF_BILLING in words(statement.pdf.path)

    assert shows(text, "Date", "Session", "Mentee", "Outcome", "Duration", "Rate", "Amount", "Wrapped up by")
    assert shows(text, "3 Mar 2026", "SA-000001", "Mo Mentee", "Attended", "1 h 00 min", "£30.00/h", "£30.00", "Ann Mentor")
    assert shows(text, "10 Mar 2026", "SA-000002", "Mo Mentee", "Attended", "1 h 30 min", "£30.00/h", "£45.00",
                 "Ann Mentor")
    assert shows(text, "17 Mar 2026", "SA-000003", "Mo Mentee", "Late-notice", "0 h 45 min", "£30.00/h", "£22.50",
                 "Lee Leader")
    assert shows(text, "cancellation", "on behalf of Ann")
    assert shows(text, "Sessions", "3")
    assert shows(text, "Time", "3 h 15 min")
    assert shows(text, "Total payable", "£97.50")
    assert statement.total == Decimal("97.50")
    assert shows(text, "Payment reference", "PAY-2026-000001")
    assert ("Once Finance has approved this statement, £97.50 is paid to the bank account you have given us (on "
            "“My details”), with the payment reference PAY-2026-000001 on your bank statement.") in words(
        statement.pdf.path)


def test_the_statement_shows_the_mentors_address_as_the_suppliers_when_known(march, mentor, finance_user,
                                                                            django_capture_on_commit_callbacks):
    mentor.address = "4 Mill Lane\nLeeds\nLS2 7AB"
    mentor.save()
    _, (statement,) = issue_all(finance_user, django_capture_on_commit_callbacks)
    assert statement.supplier_address == "4 Mill Lane\nLeeds\nLS2 7AB"
    text = pdf_text(statement.pdf.path)
    assert shows(text, "Ann Mentor", "Brightpath Mentoring Ltd")
    assert shows(text, "4 Mill Lane", "12 Canal Street")
    assert shows(text, "Leeds", "Manchester")
    assert shows(text, "LS2 7AB", "M1 3HE")
    assert shows(text, "ann@example.com")


def test_finance_fills_in_a_mentors_address_in_the_admin(finance_client, mentor):
    page = reverse("admin:sessions_app_mentor_change", args=[mentor.pk])
    assert 'name="address"' in finance_client.get(page).content.decode()
    response = finance_client.post(page, {
        "user": mentor.user_id, "hourly_pay_rate": "30.00", "is_active": "on", "address": "4 Mill Lane\r\nLeeds",
        "pay_rates-TOTAL_FORMS": "0", "pay_rates-INITIAL_FORMS": "0", "_save": "Save",
    })
    assert response.status_code == 302
    mentor.refresh_from_db()
    assert mentor.address == "4 Mill Lane\r\nLeeds"


# ---------------------------------------------------------------- long names

LONG_NAME = "Z" * 80
A4_WIDTH = 595.28  # points
RIGHT_MARGIN = 15 / 25.4 * 72  # 15 mm


def word_boxes(path) -> list[tuple[str, float, float, float]]:
    """Each word on the PDF's first page with its left and right edges and its top, in points."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>'
    return [(word, float(left), float(right), float(top)) for left, top, right, word in re.findall(pattern, html)]


def column(boxes, heading: str, next_heading: str) -> tuple[float, float, float]:
    """Where a column of the lines table starts, where the next one starts, and the headings' top."""
    left, top = next((x, y) for word, x, _, y in boxes if word == heading)
    right = next(x for word, x, _, y in boxes if word == next_heading and y == top)
    return left, right, top


def test_an_80_letter_name_wraps_inside_its_column_on_invoices_and_statements(org, mentor, finance_user,
                                                                              django_capture_on_commit_callbacks):
    long_mentor = MentorFactory(user__full_name=f"Ann {LONG_NAME}", address=f"{LONG_NAME}@example.org")
    mentee = MenteeFactory(full_name=LONG_NAME)
    arrangement = FundingArrangementFactory(mentee=mentee, funder=FunderFactory(name=f"Funder {LONG_NAME}"),
                                            hourly_rate=Decimal("55.00"))
    completed_session(mentor=long_mentor, mentee=mentee, arrangement=arrangement, day=3)
    month_end_generate(year=2026, month=3)
    (invoice,), (statement,) = issue_all(finance_user, django_capture_on_commit_callbacks)

    for document, next_heading in ((invoice, "Description"), (statement, "Outcome")):
        boxes = word_boxes(document.pdf.path)
        assert max(right for _, _, right, _ in boxes) <= A4_WIDTH - RIGHT_MARGIN + 1, document  # on the page
        left, right, top = column(boxes, "Mentee", next_heading)
        pieces = [(word, x1) for word, x0, x1, y in boxes
                  if y > top and set(word) == {"Z"} and left - 1 <= x0 < right]
        assert "".join(word for word, _ in pieces) == LONG_NAME, document  # all of it, under "Mentee"
        assert all(x1 < right for _, x1 in pieces), document  # and none of it past the column


def test_the_credit_note_names_the_invoice_it_credits_why_and_the_amounts(issued, finance_user,
                                                                          django_capture_on_commit_callbacks):
    invoice, _ = issued
    credit_note = credit(invoice, finance_user, django_capture_on_commit_callbacks)
    assert credit_note.pdf.name == "credit-notes/2026/CN-2026-000001.pdf"
    text = pdf_text(credit_note.pdf.path)
    assert shows(text, "Brightpath Mentoring Ltd", "CREDIT NOTE")
    assert shows(text, "Credit note number", "CN-2026-000001")
    assert shows(text, "Date", "2 April 2026")
    assert shows(text, "Credits invoice", "INV-2026-000001")
    assert shows(text, "Invoice date", "31 March 2026")
    assert shows(text, "Student Finance England", "INV-2026-000001")
    assert shows(text, "Accounts Payable", "Dated 31 March 2026, for £214.50")
    flat = words(credit_note.pdf.path)
    assert "REASON FOR CREDIT The session on 17 March was charged at the wrong rate." in flat
    assert shows(text, "17 Mar 2026", "SA-000003", "Mo Mentee", "Mentoring session", "0 h 45 min", "£55.00/h", "20%",
                 "£41.25")
    assert shows(text, "Net credited", "£178.75")
    assert shows(text, "VAT at 20% credited", "£35.75")
    assert shows(text, "Total credited", "£214.50")
    assert "This credit note cancels invoice INV-2026-000001 in full: nothing is due on it." in flat
    assert "VAT registration number GB 123 4567 89" in text


# ---------------------------------------------------------------- downloads

def test_a_mentor_downloads_their_own_statement_from_the_dashboard(issued, mentor_client):
    _, statement = issued
    page = mentor_client.get(reverse("dashboard")).content.decode()
    url = f"/documents/statement/{statement.pk}.pdf"
    assert url == document_pdf_url(statement)
    assert "Payment statements" in page
    assert f'<a href="{url}?download=1" download>Download PAY-2026-000001 (PDF)</a>' in page

    response = mentor_client.get(url + "?download=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="PAY-2026-000001.pdf"'
    assert b"".join(response.streaming_content) == Path(statement.pdf.path).read_bytes()


def test_a_mentor_gets_404_for_anything_but_their_own_statements(issued, finance_user, other_mentor, mentor_client,
                                                                 django_capture_on_commit_callbacks):
    invoice, statement = issued
    credit_note = credit(invoice, finance_user, django_capture_on_commit_callbacks)
    for url in (document_pdf_url(invoice), document_pdf_url(credit_note), "/documents/order/1.pdf"):
        assert mentor_client.get(url).status_code == 404, url
    client = Client()
    client.force_login(other_mentor.user)
    assert client.get(document_pdf_url(statement)).status_code == 404
    assert "Download PAY-2026-000001" not in client.get(reverse("dashboard")).content.decode()


def test_finance_downloads_every_document(issued, finance_user, finance_client, django_capture_on_commit_callbacks):
    invoice, statement = issued
    credit_note = credit(invoice, finance_user, django_capture_on_commit_callbacks)
    for document in (invoice, statement, credit_note):
        response = finance_client.get(document_pdf_url(document))
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'inline; filename="{document.number}.pdf"'
        assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert str(document_pdf_link(invoice)) == (
        f'<a href="/documents/invoice/{invoice.pk}.pdf">INV-2026-000001.pdf</a>')


def test_senior_leadership_and_strangers_cannot_download_documents(issued, leader_client, client):
    invoice, statement = issued
    assert leader_client.get(document_pdf_url(invoice)).status_code == 404
    assert leader_client.get(document_pdf_url(statement)).status_code == 404
    leader_client.logout()
    response = client.get(document_pdf_url(statement))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_statement_still_being_rendered_shows_as_being_prepared(march, mentor, finance_user, mentor_client):
    (statement,) = statements_issue(statement_ids=[PaymentStatement.objects.get().pk], acting_user=finance_user,
                                    today=ISSUE_DAY)  # on_commit never runs: no PDF yet
    page = mentor_client.get(reverse("dashboard")).content.decode()
    assert "PAY-2026-000001" in page and "PDF being prepared" in page
    assert mentor_client.get(document_pdf_url(statement)).status_code == 404
    finance_client = Client()
    finance_client.force_login(finance_user)
    assert finance_client.get(document_pdf_url(statement)).status_code == 404
    assert document_pdf_link(statement) == "–"


def test_documents_left_without_a_pdf_are_rendered_by_the_sweep(march, finance_user, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    """Issued while the broker was down, or the worker died: the sweep renders and emails them."""
    invoices_issue(invoice_ids=[Invoice.objects.get().pk], acting_user=finance_user, today=ISSUE_DAY)
    statements_issue(statement_ids=[PaymentStatement.objects.get().pk], acting_user=finance_user, today=ISSUE_DAY)
    with django_capture_on_commit_callbacks(execute=True):
        assert pdf_service.pdfs_render_missing() == 2
    assert all(document.pdf for document in [*Invoice.objects.all(), *PaymentStatement.objects.all()])
    assert sorted(m.attachments[0][0] for m in mailoutbox) == ["INV-2026-000001.pdf", "PAY-2026-000001.pdf"]
    assert pdf_service.pdfs_render_missing() == 0


def test_the_dashboard_lists_issued_statements_newest_first_in_a_fixed_number_of_queries(
        mentor, other_mentor, mentor_client, django_assert_num_queries):
    def statement(month, status=PaymentStatement.Status.ISSUED, who=mentor, number=None):
        issued = status != PaymentStatement.Status.DRAFT
        return PaymentStatement.objects.create(
            mentor=who, period_start=date(2026, month, 1), period_end=date(2026, month, 28), status=status,
            number=number or (f"PAY-2026-{month:06d}" if issued else None), total=Decimal(month * 10),
            issue_date=date(2026, month, 28) if issued else None,
            pdf=f"statements/2026/PAY-2026-{month:06d}.pdf" if issued else "",
        )

    statement(1, PaymentStatement.Status.PAID)
    mentor_client.get(reverse("dashboard"))  # the session and permission caches are warm from here on
    with CaptureQueriesContext(connection) as with_one:
        mentor_client.get(reverse("dashboard"))
    statement(2, PaymentStatement.Status.APPROVED)
    statement(3)
    statement(4, PaymentStatement.Status.DRAFT)
    statement(3, who=other_mentor, number="PAY-2026-000099")
    with django_assert_num_queries(len(with_one)):
        page = mentor_client.get(reverse("dashboard")).content.decode()
    assert [s.number for s in payment_statements_of(mentor)] == ["PAY-2026-000003", "PAY-2026-000002",
                                                                 "PAY-2026-000001"]
    section = page.split('id="statements"')[1].split("</section>")[0]
    listed = re.findall(r"<strong>(PAY-[\d-]+)</strong>", section)
    assert listed == ["PAY-2026-000003", "PAY-2026-000002", "PAY-2026-000001"]
    assert "Approved for payment" in section and "Paid" in section and "£30" in section


def test_people_who_are_not_mentors_see_no_payment_statements_section(finance_client):
    page = finance_client.get(reverse("dashboard")).content.decode()
    assert 'id="statements"' not in page


def test_the_statement_list_is_one_query(mentor, django_assert_num_queries):
    MentorFactory()
    with django_assert_num_queries(1):
        payment_statements_of(mentor)
