"""Erase this person: anonymise everything held about a mentee or a mentor now, except what HMRC requires to be kept
(the names and addresses on issued invoices, credit notes and payment statements, and their PDFs, until six years
after their financial year's end), and record who erased whom and why, without the erased values.

Two passes. The first anonymises the person's own rows and their versions in the history tables: their profile,
their sessions' notes, their tickets, their emails, the copies of their name on documents no longer retained (and
those documents' PDFs). The second looks for what is left anywhere: every text column of every model (history
tables, the admin's log, other people's emails and tickets, credit notes' reasons) is searched for the person's
name, email and phone number, and each whole-word occurrence is replaced, except in the HMRC-retained columns.
"""

import json
import logging

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.html import escape

from invoicing.models import (
    CreditNote,
    FinanceTicket,
    Invoice,
    InvoiceLine,
    PaymentRun,
    PaymentRunItem,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
    StatementLine,
)
from invoicing.services.timesheets import stored_timesheets_remove
from notifications.models import OutboxEmail
from privacy.models import Erasure, Subject, WithheldNote
from privacy.services.common import (
    ERASED,
    documents_not_retained,
    documents_past_retention,
    documents_retained,
    masked_bank_details,
    mention_pattern,
    payments_past_retention,
    remove_pdfs,
    update_with_history,
)
from sessions_app.models import (
    AppointmentSeries,
    Mentee,
    Mentor,
    MentorAssignment,
    MentorBankDetails,
    ServiceAppointment,
    User,
    WrapUpRequest,
)
from sessions_app.models.people import new_calendar_token

logger = logging.getLogger(__name__)

# Kept on issued documents while HMRC needs them (six years after their financial year's end), and so in their
# versions too; the retention job anonymises them after that. The sweep for mentions leaves these columns alone.
HMRC_RETAINED = {
    "invoicing.Invoice": ("bill_to_name", "bill_to_address"),
    "invoicing.HistoricalInvoice": ("bill_to_name", "bill_to_address"),
    "invoicing.InvoiceLine": ("mentee_name",),
    "invoicing.PaymentStatement": ("supplier_address",),
    "invoicing.HistoricalPaymentStatement": ("supplier_address",),
    "invoicing.StatementLine": ("mentee_name", "wrapped_up_by_name"),
    "invoicing.StatementAdjustment": ("mentee_name",),
    "invoicing.HistoricalStatementAdjustment": ("mentee_name",),
    # A payment made: the name on the account it went to (its sort code and account number are cut to their last
    # digits when the mentor is erased).
    "invoicing.PaymentRunItem": ("account_name",),
}
# Other people's names and addresses: a namesake's own record is not theirs to lose. The erased person's own row
# is anonymised by the first pass.
IDENTITY_COLUMNS = {
    "sessions_app.Mentee": ("full_name", "email"),
    "sessions_app.User": ("full_name", "email"),
}


class ErasureRefused(Exception):
    pass


def erased_label(kind: str, person) -> str:
    return f"Erased {Subject(kind).label.lower()} {person.pk}"


def _identifiers(kind: str, person) -> list[str]:
    if kind == Subject.MENTEE:
        return [person.full_name, person.email, person.phone]
    return [person.user.full_name, person.user.email]


@transaction.atomic
def person_erase(*, kind: str, person_id: int, acting_user, reason: str, now=None) -> Erasure:
    """Anonymises the mentee or mentor now (see the module's docstring) and returns the record of it."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    model = Mentee if kind == Subject.MENTEE else Mentor
    person = model.objects.select_for_update().select_related(*(["user"] if kind == Subject.MENTOR else [])).get(
        pk=person_id)
    if not reason:
        raise ErasureRefused("Say why this person is erased (for example the request's date and reference).")
    identifiers = [value for value in _identifiers(kind, person) if value]
    if mention_pattern(identifiers) and mention_pattern(identifiers).search(reason):
        raise ErasureRefused("The reason must not contain the person's name or contact details: it is kept after "
                             "they are erased.")
    if Erasure.objects.filter(subject_kind=kind, subject_id=person.pk).exists():
        raise ErasureRefused(f"This {Subject(kind).label.lower()} has already been erased.")
    upcoming = upcoming_sessions(kind, person, now)
    if upcoming:
        raise ErasureRefused(f"{len(upcoming)} session{'s are' if len(upcoming) != 1 else ' is'} still to come "
                             f"({', '.join(upcoming)}): cancel {'them' if len(upcoming) != 1 else 'it'} first.")
    waiting = payments_waiting(kind, person)
    if waiting:
        raise ErasureRefused(f"A payment to this mentor is waiting in payment run {', '.join(waiting)}: mark the run "
                             "paid or cancel it first (it needs their bank details).")

    label = erased_label(kind, person)
    counts = (_erase_mentee if kind == Subject.MENTEE else _erase_mentor)(person, label, now)
    counts["mentions elsewhere"] = sweep_mentions(identifiers, replacement=label)
    counts = {key: value for key, value in counts.items() if value}
    erasure = Erasure.objects.create(subject_kind=kind, subject_id=person.pk, erased_by=acting_user,
                                     erased_at=now, reason=reason, counts=counts)
    logger.info("Erasure of %s %s by user %s: %s", kind, person.pk, acting_user.pk, counts)
    return erasure


def upcoming_sessions(kind: str, person, now) -> list[str]:
    """References of the person's sessions still to take place: someone would turn up for an erased name."""
    sessions = ServiceAppointment.objects.filter(status=ServiceAppointment.Status.SCHEDULED, starts_at__gt=now)
    sessions = sessions.filter(mentee=person) if kind == Subject.MENTEE else sessions.filter(mentor=person)
    return list(sessions.order_by("starts_at").values_list("reference", flat=True)[:20])


def payments_waiting(kind: str, person) -> list[str]:
    """Numbers of the payment runs, ready to pay, with a payment to the mentor: the bank needs their details."""
    if kind != Subject.MENTOR:
        return []
    return list(PaymentRun.objects.filter(status=PaymentRun.Status.READY, items__mentor=person,
                                          items__live=True).order_by("number").values_list("number", flat=True))


def _emails(query: Q) -> int:
    OutboxEmail.objects.filter(query, status=OutboxEmail.Status.PENDING).update(
        status=OutboxEmail.Status.FAILED, last_error="Not sent: its recipient was erased.")
    return update_with_history(OutboxEmail, query, {
        "to": [], "subject": ERASED, "text_body": "", "html_body": "", "attachments": []})


def _tickets(query: Q) -> int:
    """The tickets' text, and the emails that quoted it (to Finance when logged, to whoever logged it when answered:
    notifications' keys for them)."""
    ids = list(FinanceTicket.objects.filter(query).values_list("pk", flat=True))
    keys = [key for pk in ids for key in (f"finance-alert:ticket:{pk}", f"ticket-reply:{pk}", f"ticket-reply:{pk}:mentor")]
    if keys:
        _emails(Q(key__in=keys))
    changed = update_with_history(FinanceTicket, Q(pk__in=ids), {"subject": ERASED, "message": ERASED})
    FinanceTicket.objects.filter(pk__in=ids).exclude(reply="").update(reply=ERASED)
    return changed


def _addressed_to(email: str) -> Q:
    return Q(to__icontains=f'"{email}"') if email else Q(pk__in=[])


def _documents(query_by_model: dict, retained_values: dict, erased_values: dict, now) -> dict:
    """Per document model: the person's personal copies on documents still retained get `retained_values`, on the
    others `erased_values`, and those others lose their PDFs."""
    today = timezone.localdate(now)
    counts = {}
    for model, query in query_by_model.items():
        if retained_values.get(model):
            update_with_history(model, query & documents_retained(model, today), retained_values[model])
        if erased_values.get(model):
            counts[f"{model._meta.verbose_name_plural} past retention or drafts"] = update_with_history(
                model, query & documents_not_retained(model, today), erased_values[model])
        counts[f"{model._meta.verbose_name} PDFs removed"] = remove_pdfs(
            model, query & documents_past_retention(model, today), now)
    return counts


def _erase_mentee(mentee: Mentee, label: str, now) -> dict:
    sessions = Q(appointment__mentee=mentee)
    counts = {
        "profile": update_with_history(Mentee, Q(pk=mentee.pk), {
            "full_name": label, "email": "", "phone": "", "address": ""}),
        "emails": _emails(sessions | _addressed_to(mentee.email)),
        "Finance tickets": _tickets(sessions),
        "withheld notes": WithheldNote.objects.filter(sessions).delete()[0],
    }
    notes = {"session_notes": "", "cancellation_note": "", "location": ""}
    counts["sessions"] = update_with_history(ServiceAppointment, Q(mentee=mentee), notes,
                                             history_query=Q(mentee_id=mentee.pk))
    update_with_history(ServiceAppointment, Q(mentee=mentee) & ~Q(admin_details=""), {"admin_details": ERASED},
                        history_query=Q(mentee_id=mentee.pk) & ~Q(admin_details=""))
    # Invoices addressed to them, and the lines naming them on anyone's invoices and statements.
    counts.update(_documents(
        {Invoice: Q(mentee=mentee), CreditNote: Q(invoice__mentee=mentee)},
        retained_values={Invoice: {"bill_to_email": ""}},
        erased_values={Invoice: {"bill_to_name": label, "bill_to_email": "", "bill_to_address": ""}},
        now=now,
    ))
    today = timezone.localdate(now)
    # Anyone's documents past retention with lines naming them (a funder's invoice, the mentor's statement) lose
    # their PDFs too.
    counts["PDFs naming them removed"] = remove_pdfs(
        Invoice, Q(pk__in=Invoice.objects.filter(lines__appointment__mentee=mentee).values("pk"))
        & documents_past_retention(Invoice, today), now) + remove_pdfs(
        PaymentStatement, Q(pk__in=PaymentStatement.objects.filter(lines__appointment__mentee=mentee).values("pk"))
        & documents_past_retention(PaymentStatement, today), now)
    counts["timesheets sent with invoices removed"] = _timesheets(Q(appointment__mentee=mentee))
    counts["invoice lines past retention"] = InvoiceLine.objects.filter(
        Q(appointment__mentee=mentee) & _via("invoice", Invoice, today)).update(mentee_name=label)
    counts["statement lines past retention"] = StatementLine.objects.filter(
        Q(appointment__mentee=mentee) & _via("statement", PaymentStatement, today)).update(mentee_name=label)
    counts.update(_mentee_scheduling_and_corrections(mentee, label, today, now))
    return counts


def _mentee_scheduling_and_corrections(mentee: Mentee, label: str, today, now) -> dict:
    """Their assignments to mentors go (they hold nothing else); their series lose the location, as their sessions
    do. A credit note for one of their sessions is a document like any other (kept with its reason and PDF while
    HMRC needs it); an adjustment to the mentor's pay about their session loses its description (it quotes the
    notes) and, unless an issued statement still retained carries it, their name."""
    counts = {
        "mentor assignments": MentorAssignment.objects.filter(mentee=mentee).delete()[0],
        "repeating series": AppointmentSeries.objects.filter(mentee=mentee).exclude(location="").update(location=""),
    }
    counts.update(_documents({SessionCreditNote: Q(invoice_line__appointment__mentee=mentee)}, retained_values={},
                             erased_values={SessionCreditNote: {"reason": ERASED}}, now=now))
    adjustments = Q(appointment__mentee=mentee)
    counts["pay adjustments about their sessions"] = update_with_history(
        StatementAdjustment, adjustments & ~Q(description=ERASED), {"description": ERASED})
    not_retained = adjustments & (Q(statement__isnull=True) | _via("statement", PaymentStatement, today))
    update_with_history(StatementAdjustment, not_retained, {"mentee_name": label})
    return counts


def _via(relation: str, model, today) -> Q:
    """Lines whose document is past retention, or is a draft (not an issued document HMRC needs)."""
    return Q(**{f"{relation}__in": model.objects.filter(documents_not_retained(model, today)).values("pk")})


def _erase_mentor(mentor: Mentor, label: str, now) -> dict:
    user = mentor.user
    email = user.email
    user.set_unusable_password()
    counts = {
        "profile": update_with_history(User, Q(pk=user.pk), {
            "full_name": label, "email": f"erased-mentor-{mentor.pk}@erased.invalid", "is_active": False,
            "last_login": None, "password": user.password}),
        "emails": _emails(_addressed_to(email)),
        "Finance tickets": _tickets(Q(raised_by=user)),
        "wrap-up requests": _wrap_up_requests(mentor),
        "log-in records": sum(model.objects.filter(username__iexact=email).delete()[0]
                              for model in (AccessAttempt, AccessFailureLog, AccessLog)),
        "log-in sessions": _end_sessions(user),
    }
    user.groups.clear()
    user.user_permissions.clear()
    update_with_history(Mentor, Q(pk=mentor.pk), {"address": "", "is_active": False,
                                                  "calendar_token": new_calendar_token()})
    counts.update(_documents(
        {PaymentStatement: Q(mentor=mentor)},
        retained_values={},
        erased_values={PaymentStatement: {"supplier_address": ""}},
        now=now,
    ))
    counts["timesheets sent with invoices removed"] = _timesheets(Q(appointment__mentor=mentor))
    today = timezone.localdate(now)
    counts["statement lines past retention"] = StatementLine.objects.filter(
        Q(statement__mentor=mentor) & _via("statement", PaymentStatement, today),
        wrapped_up_by_name=user.full_name).update(wrapped_up_by_name=label)
    counts.update(_mentor_bank_details_and_payments(mentor, label, today))
    counts["mentee assignments"] = MentorAssignment.objects.filter(mentor=mentor).delete()[0]
    return counts


def _mentor_bank_details_and_payments(mentor: Mentor, label: str, today) -> dict:
    """Their bank details go, with every earlier version (and the record of who saw them). A payment made to them is
    a financial record HMRC needs: while it is kept, the name on the account stays and the sort code and account
    number are cut to their last digits; past its retention, or never made (a cancelled run), it keeps neither."""
    history = MentorBankDetails.history.model
    counts = {"bank details": MentorBankDetails.objects.filter(mentor=mentor).delete()[0],
              "earlier versions of bank details": history.objects.filter(mentor_id=mentor.pk).delete()[0]}
    payments = PaymentRunItem.objects.filter(mentor=mentor)
    gone = Q(live=False) | payments_past_retention(today)
    counts["payments: bank details masked"] = payments.exclude(gone).update(**masked_bank_details())
    counts["payments past retention or not made"] = payments.filter(gone).update(
        account_name=label, sort_code="", account_number="")
    return counts


def _timesheets(lines: Q) -> int:
    """The stored timesheets sent with invoices that hold their sessions (each names the mentee and the sessions'
    mentors), whatever the invoice's retention: HMRC needs the invoice, not its timesheet. Other mentees' timesheets
    on the same invoice stay."""
    return stored_timesheets_remove(InvoiceLine.objects.filter(lines))


def _wrap_up_requests(mentor) -> int:
    """Their messages to Senior Leadership, and the emails that carried them (notifications' keys for them)."""
    ids = list(WrapUpRequest.objects.filter(mentor=mentor).values_list("pk", flat=True))
    for pk in ids:
        _emails(Q(key__startswith=f"wrap-up-request:{pk}:"))
    return WrapUpRequest.objects.filter(pk__in=ids).exclude(message="").update(message="")


def _end_sessions(user) -> int:
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()
            ended += 1
    return ended


# --------------------------------------------------------------------------- the sweep


TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField)


def _sweepable(model) -> list[str]:
    meta = model._meta
    if meta.proxy or not meta.managed:
        return []
    skip = set(HMRC_RETAINED.get(meta.label, ())) | set(IDENTITY_COLUMNS.get(meta.label, ()))
    return [f.attname for f in meta.concrete_fields
            if isinstance(f, TEXT_FIELDS) and not f.primary_key and f.attname not in skip]


def _replaced(value, pattern, replacement):
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, list):
        return [_replaced(item, pattern, replacement) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, pattern, replacement) for key, item in value.items()}
    return value


def sweep_mentions(identifiers, *, replacement: str) -> int:
    """Replaces every whole-word mention of the identifiers in every text column of every model (one query per
    model to find the rows, one update per row found). Returns the rows changed."""
    pattern = mention_pattern(identifiers)
    if pattern is None:
        return 0
    needles = {form for value in identifiers if value and len(value.strip()) >= 3
               for form in (value.strip(), escape(value.strip()), json.dumps(value.strip())[1:-1])}
    changed = 0
    for model in apps.get_models():
        fields = _sweepable(model)
        if not fields:
            continue
        query = Q()
        for field in fields:
            for needle in needles:
                query |= Q(**{f"{field}__icontains": needle})
        for row in model._base_manager.filter(query).values(model._meta.pk.attname, *fields).iterator():
            pk = row.pop(model._meta.pk.attname)
            updates = {}
            for field, value in row.items():
                new = _replaced(value, pattern, replacement)
                if new != value:
                    updates[field] = new
            if updates:
                model._base_manager.filter(pk=pk).update(**updates)
                changed += 1
    return changed
