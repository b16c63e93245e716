"""Issued documents reach people through the outbox, with their PDF attached, once each."""

from datetime import date
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from invoicing.models import Invoice
from invoicing.tasks import render_credit_note_pdf, render_invoice_pdf, render_statement_pdf
from notifications.models import OutboxEmail
from notifications.services import outbox_deliver, outbox_enqueue, outbox_sweep
from tests.invoicing.test_pdfs import (  # noqa: F401 (fixtures)
    credit,
    funder,
    issue_all,
    issued,
    march,
    media_in_tmp,
    org,
)


def test_an_issued_invoice_is_emailed_to_the_bill_to_contact_with_its_pdf(issued, mailoutbox):
    invoice, _ = issued
    (message,) = [m for m in mailoutbox if m.to == ["invoices@sfe.example"]]
    assert message.subject == "Invoice INV-2026-000001 from Brightpath Mentoring Ltd: £214.50 due by 30 April 2026"
    assert message.body == (
        "Dear Student Finance England,\n\n"
        "Please find attached invoice INV-2026-000001 from Brightpath Mentoring Ltd for mentoring sessions in "
        "March 2026 (your reference PO-7781).\n\n"
        "The timesheet attached with it lists every session: its date and times, how long it took, its outcome, its "
        "mentor and the mentee's confirmation.\n\n"
        "Amount due: £214.50 (including VAT of £35.75)\n"
        "Please pay by: 30 April 2026\n"
        "Payment reference: INV-2026-000001\n\n"
        "Account name: Brightpath Mentoring Ltd\nSort code: 20-00-00\nAccount number: 12345678\n\n"
        "If you have a question about this invoice, please contact accounts@brightpath.example.\n\n"
        "Brightpath Mentoring Ltd\n"
    )
    assert "<strong>INV-2026-000001</strong>" in message.alternatives[0][0]
    (name, content, mimetype), timesheet = message.attachments  # the timesheet: tests/invoicing/test_timesheets.py
    assert (name, mimetype) == ("INV-2026-000001.pdf", "application/pdf")
    assert content == Path(invoice.pdf.path).read_bytes()

    email = OutboxEmail.objects.get(key="invoice:INV-2026-000001")
    assert email.kind == OutboxEmail.Kind.INVOICE and email.status == OutboxEmail.Status.SENT
    assert email.attachments == [
        {"name": "INV-2026-000001.pdf", "path": "invoices/2026/INV-2026-000001.pdf", "mimetype": "application/pdf"},
        {"name": "timesheet-2026-03-po-7781.pdf",
         "path": f"invoices/2026/INV-2026-000001-a{invoice.funding_arrangement_id}-timesheet-2026-03-po-7781.pdf",
         "mimetype": "application/pdf"}]


def test_rendering_twice_queues_and_sends_the_invoice_email_once(issued, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    invoice, _ = issued
    with django_capture_on_commit_callbacks(execute=True):
        render_invoice_pdf.delay(invoice.pk)
        render_invoice_pdf.delay(invoice.pk)
    assert OutboxEmail.objects.filter(kind=OutboxEmail.Kind.INVOICE).count() == 1
    assert len([m for m in mailoutbox if m.to == ["invoices@sfe.example"]]) == 1


def test_a_rendered_pdf_whose_email_was_never_queued_gets_it_on_the_next_run(
        march, finance_user, mailoutbox, django_capture_on_commit_callbacks):
    """The worker stored the PDF and died before queueing the email: running the task again queues it."""
    with mock.patch("notifications.services.documents.outbox_enqueue", side_effect=RuntimeError("worker died")):
        with pytest.raises(RuntimeError):
            issue_all(finance_user, django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get()
    assert invoice.pdf and not OutboxEmail.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        render_invoice_pdf.delay(invoice.pk)
    assert [m.attachments[0][0] for m in mailoutbox] == ["INV-2026-000001.pdf"]


def test_a_payment_statement_is_emailed_to_its_mentor_with_its_pdf(issued, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    _, statement = issued
    (message,) = [m for m in mailoutbox if m.to == ["ann@example.com"]]
    assert message.subject == "Your payment statement PAY-2026-000001 for March 2026: £97.50"
    assert message.body.startswith(
        "Dear Ann Mentor,\n\nYour payment statement PAY-2026-000001 for March 2026 is attached: £97.50 for the "
        "sessions you wrapped up.\n\nIt is a self-billing statement: Brightpath Mentoring Ltd issues it on your "
        "behalf, so you do not need to send us an invoice."
    )
    assert f"Your statements are also on your dashboard: {settings.SITE_URL}/dashboard/" in message.body
    ((name, content, mimetype),) = message.attachments
    assert (name, mimetype, content) == ("PAY-2026-000001.pdf", "application/pdf",
                                         Path(statement.pdf.path).read_bytes())
    with django_capture_on_commit_callbacks(execute=True):
        render_statement_pdf.delay(statement.pk)
    assert OutboxEmail.objects.filter(kind=OutboxEmail.Kind.PAYMENT_STATEMENT).count() == 1
    assert len([m for m in mailoutbox if m.to == ["ann@example.com"]]) == 1


def test_a_credit_note_is_emailed_to_the_invoices_bill_to_contact(issued, finance_user, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    invoice, _ = issued
    credit_note = credit(invoice, finance_user, django_capture_on_commit_callbacks, reason="Billed twice.")
    message = mailoutbox[-1]
    assert message.to == ["invoices@sfe.example"]
    assert message.subject == ("Credit note CN-2026-000001 from Brightpath Mentoring Ltd: "
                               "invoice INV-2026-000001 cancelled")
    assert "It cancels invoice INV-2026-000001 of 31 March 2026 in full (£214.50)" in message.body
    assert "Reason: Billed twice." in message.body
    assert message.attachments == [("CN-2026-000001.pdf", Path(credit_note.pdf.path).read_bytes(), "application/pdf")]
    with django_capture_on_commit_callbacks(execute=True):
        render_credit_note_pdf.delay(credit_note.pk)
    assert len(mailoutbox) == 3  # invoice, statement, credit note: nothing twice


def test_an_invoice_with_no_email_address_goes_to_finance_instead(march, funder, finance_user, mailoutbox,
                                                                  django_capture_on_commit_callbacks):
    Invoice.objects.update(bill_to_email="")
    issue_all(finance_user, django_capture_on_commit_callbacks)
    (message,) = [m for m in mailoutbox if m.to == ["fay@example.com"]]
    assert message.subject == "INV-2026-000001 was not emailed: no email address for Student Finance England"
    assert message.attachments[0][0] == "INV-2026-000001.pdf"
    assert not OutboxEmail.objects.filter(kind=OutboxEmail.Kind.INVOICE).exists()
    render_invoice_pdf.delay(Invoice.objects.get().pk)
    assert OutboxEmail.objects.filter(key="finance-alert:no-address:INV-2026-000001").count() == 1


# ---------------------------------------------------------------- the outbox's attachments

def test_an_outbox_email_carries_files_from_storage(db, mailoutbox):
    path = default_storage.save("documents/note.txt", ContentFile(b"hello"))
    email = outbox_enqueue(key="k", kind=OutboxEmail.Kind.FINANCE_ALERT, to=["a@example.com"], subject="s",
                           text_body="t", attachments=[{"name": "note.txt", "path": path, "mimetype": "text/plain"}])
    assert outbox_deliver(email_id=email.pk)
    assert mailoutbox[0].attachments == [("note.txt", "hello", "text/plain")]


def test_emails_without_attachments_have_none(db, mailoutbox):
    email = outbox_enqueue(key="k", kind=OutboxEmail.Kind.FINANCE_ALERT, to=["a@example.com"], subject="s",
                           text_body="t")
    assert email.attachments == []
    assert outbox_deliver(email_id=email.pk)
    assert mailoutbox[0].attachments == []


def test_an_attachment_needs_a_name_and_a_path(db):
    with pytest.raises(ValueError, match="An attachment needs a name and a storage path"):
        outbox_enqueue(key="k", kind=OutboxEmail.Kind.FINANCE_ALERT, to=["a@example.com"], subject="s",
                       text_body="t", attachments=[{"name": "x.pdf"}])
    assert not OutboxEmail.objects.exists()


def test_a_missing_attachment_fails_the_send_which_is_retried_once_the_file_is_back(db, mailoutbox):
    email = outbox_enqueue(key="k", kind=OutboxEmail.Kind.FINANCE_ALERT, to=["a@example.com"], subject="s",
                           text_body="t", attachments=[{"name": "a.pdf", "path": "gone/a.pdf",
                                                        "mimetype": "application/pdf"}])
    now = timezone.now()
    assert outbox_deliver(email_id=email.pk, now=now) is False
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and email.last_error.startswith("FileNotFoundError")
    default_storage.save("gone/a.pdf", ContentFile(b"%PDF-1.7"))
    assert outbox_sweep(now=email.next_attempt_at) == 1
    assert mailoutbox[0].attachments == [("a.pdf", b"%PDF-1.7", "application/pdf")]


def test_issuing_a_month_renders_each_document_once(march, finance_user, django_capture_on_commit_callbacks):
    from invoicing.services import pdf as pdf_service

    with mock.patch.object(pdf_service, "html_to_pdf", wraps=pdf_service.html_to_pdf) as render:
        issue_all(finance_user, django_capture_on_commit_callbacks, today=date(2026, 3, 31))
    assert render.call_count == 2  # one invoice, one statement
