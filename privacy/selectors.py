"""Everything held about one mentee or one mentor, as sections of plain rows (the subject access export reads these).

Each section is one query (`.values()` with the joins it needs, read with `.iterator()`), however many sessions the
person has, and names the models it reads (`Section.models`): `tests/privacy/test_export_completeness.py` checks
that every model holding a person's data is read by some section or excluded in `NOT_EXPORTED` with a reason.
"""

from dataclasses import dataclass
from typing import Callable, Iterator

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.db.models import Exists, F, OuterRef, Q

from invoicing.models import (
    CreditNote,
    FinanceTicket,
    Invoice,
    InvoiceLine,
    MentorPayRate,
    PaymentRun,
    PaymentRunItem,
    PaymentStatement,
    SessionCreditNote,
    StatementAdjustment,
    StatementLine,
)
from notifications.models import OutboxEmail
from privacy.models import Subject, WithheldNote
from sessions_app.models import (
    AppointmentEvent,
    AppointmentSeries,
    FundingArrangement,
    Mentee,
    Mentor,
    MentorAssignment,
    MentorBankDetails,
    ServiceAppointment,
    SessionSignOff,
    User,
    WrapUpRequest,
    WrapUpRequestItem,
)

CHUNK = 2000

# Models that hold something about a person but are not exported, and why. Anything else that points to a person
# (a mentee, a mentor, a user, a session, or a field for a name, email, address, phone or bank account) must be read
# by a section.
NOT_EXPORTED = {
    "sessions_app.Funder": "an organisation that pays for sessions; its billing contact is the funder's, not a "
                           "mentee's or mentor's",
    "invoicing.OrganisationDetails": "our own organisation's name, address, accounts email and the bank account "
                                     "we pay mentors from",
    "sessions_app.Sequence": "counters for reference numbers; `name` is the counter's name",
    "auth.Group": "the three roles; `name` is the role's",
    "auth.Permission": "what each role may do; `name` describes the permission",
    "sessions_app.User_user_permissions": "permissions given to one user beyond their role (their roles are "
                                          "exported); erasing a mentor takes them away",
    "admin.LogEntry": "the admin's own log of Finance's edits; it names records, and erasure sweeps names from it. "
                      "The records themselves, and their versions, are exported",
    "sessions.Session": "log-in sessions: signed data that expires after 8 hours; erasing a mentor logs them out",
    "privacy.PersonalDataExport": "who in Finance exported whose data: ids only, no personal values",
    "privacy.Erasure": "who in Finance erased whose data and why: ids only, no personal values",
    "axes.AccessAttemptExpiration": "when a lock-out ends; the attempt it belongs to is exported",
    # Finance's own work, naming the staff member who did it (as the admin's log does):
    "invoicing.MonthEndRun": "a month-end run: who in Finance asked for it and who closed the month",
    "invoicing.HistoricalMonthEndRun": "earlier versions of a month-end run (who in Finance acted)",
    "invoicing.Term": "a funder's term dates; `name` is the term's, e.g. \"Autumn 2026\"",
    "invoicing.HistoricalTerm": "earlier versions of a term (who in Finance changed it)",
    "invoicing.HistoricalMissedSessionRule": "earlier versions of a funder's rule (who in Finance changed it)",
    "invoicing.PaymentRun": "a payment run: our paying account and who in Finance made and paid it; each mentor's "
                            "payment in it is exported to the mentor (`payments`)",
    "invoicing.HistoricalPaymentRun": "earlier versions of a payment run (who in Finance acted)",
}


@dataclass(frozen=True)
class Section:
    name: str  # the key in personal-data.json
    title: str  # the heading in summary.html
    explanation: str
    models: tuple  # what it reads, for the completeness test
    rows: Callable[[object], Iterator[dict]]  # every row has the same keys
    in_summary: bool = True  # False: in personal-data.json only (the audit trail's versions, dozens of columns)


def _labelled(rows, **choices):
    """Codes to the labels people see (`status="completed"` to "Completed")."""
    for row in rows:
        for key, options in choices.items():
            if row.get(key) is not None:
                row[key] = options.get(row[key], row[key])
        yield row


OUTCOMES = dict(ServiceAppointment.Outcome.choices)
STATUSES = dict(ServiceAppointment.Status.choices)
MODES = dict(ServiceAppointment.Mode.choices)


# --------------------------------------------------------------------------- a mentee


def mentee_profile(mentee):
    return Mentee.objects.filter(pk=mentee.pk).values("id", "full_name", "email", "phone", "address", "created_at")


def mentee_funding(mentee):
    rows = FundingArrangement.objects.filter(mentee=mentee).order_by("valid_from", "pk").values(
        "id", "kind", funder_name=F("funder__name"), purchase_order=F("reference"), charge_rate=F("hourly_rate"),
        hours_authorised=F("hours_allowance"), valid_from_date=F("valid_from"), valid_until_date=F("valid_until"),
    )
    return _labelled(rows.iterator(CHUNK), kind=dict(FundingArrangement.Kind.choices))


def _with_cancellation_note(rows):
    for row in rows:
        reason = row.pop("withheld_reason")
        if reason:
            row["internal_cancellation_note"] = "Withheld from this export"
        row["internal_note_withheld_because"] = reason
        yield row


def mentee_sessions(mentee):
    rows = ServiceAppointment.objects.filter(mentee=mentee).order_by("starts_at", "pk").values(
        "reference", "starts_at", "ends_at", "mode", "location", "status", "outcome",
        "actual_minutes", "session_notes", "admin_details", "wrapped_up_at",
        mentor_name=F("mentor__user__full_name"), funder_name=F("funding_arrangement__funder__name"),
        funding_type=F("funding_arrangement__kind"), wrapped_up_by_name=F("wrapped_up_by__full_name"),
        cancellation_reason_shared=F("cancellation_reason__label"), internal_cancellation_note=F("cancellation_note"),
        cancelled_by_name=F("cancelled_by__full_name"), cancelled_on=F("cancelled_at"),
        notice_given_hours=F("notice_hours"), withheld_reason=F("withheld_note__reason"),
    )
    return _with_cancellation_note(_labelled(
        rows.iterator(CHUNK), status=STATUSES, outcome=OUTCOMES, mode=MODES,
        funding_type=dict(FundingArrangement.Kind.choices),
    ))


def mentee_session_history(mentee):
    rows = AppointmentEvent.objects.filter(appointment__mentee=mentee).order_by("occurred_at", "pk").values(
        "kind", "occurred_at", "description", session=F("appointment__reference"), by=F("actor__full_name"),
        on_behalf_of_name=F("on_behalf_of__full_name"),
    )
    return _labelled(rows.iterator(CHUNK), kind=dict(AppointmentEvent.Kind.choices))


def _emails(query):
    rows = OutboxEmail.objects.filter(query).order_by("created_at", "pk").values(
        "kind", "to", "subject", "text_body", "status", "created_at", "sent_at", session=F("appointment__reference"),
    )
    return _labelled(rows.iterator(CHUNK), kind=dict(OutboxEmail.Kind.choices),
                     status=dict(OutboxEmail.Status.choices))


def _addressed_to(email: str) -> Q:
    # `to` is a JSON list of addresses; icontains on its text works on SQLite and PostgreSQL alike.
    return Q(to__icontains=f'"{email}"') if email else Q(pk__in=[])


def mentee_emails(mentee):
    return _emails(Q(appointment__mentee=mentee) | _addressed_to(mentee.email))


def _tickets(query):
    rows = FinanceTicket.objects.filter(query).order_by("raised_at", "pk").values(
        "kind", "subject", "message", "raised_at", "status", "reply", "replied_at",
        session=F("appointment__reference"), raised_by_name=F("raised_by__full_name"),
        replied_by_name=F("replied_by__full_name"),
    )
    return _labelled(rows.iterator(CHUNK), kind=dict(FinanceTicket.Kind.choices),
                     status=dict(FinanceTicket.Status.choices))


def mentee_tickets(mentee):
    return _tickets(Q(appointment__mentee=mentee))


def mentee_invoices(mentee):
    rows = Invoice.objects.filter(mentee=mentee).order_by("period_start", "pk")
    return _labelled(rows.values(
        "number", "status", "issue_date", "due_date", "period_start", "period_end", "bill_to_name", "bill_to_email",
        "bill_to_address", "net", "vat", "total", "paid_at",
    ).iterator(CHUNK), status=dict(Invoice.Status.choices))


def mentee_invoice_lines(mentee):
    """The lines about their sessions on every invoice (a funder's too: only their own lines), drafts included."""
    rows = InvoiceLine.objects.filter(appointment__mentee=mentee)
    return _labelled(rows.order_by("session_date", "pk").values(
        "session_date", "reference", "mentee_name", "outcome", "minutes", "hourly_rate", "net",
        invoice_number=F("invoice__number"), billed_to=F("invoice__bill_to_name"),
    ).iterator(CHUNK), outcome=OUTCOMES)


def mentee_credit_notes(mentee):
    return CreditNote.objects.filter(invoice__mentee=mentee).order_by("issue_date", "pk").values(
        "number", "issue_date", "reason", "net", "vat", "total", invoice_number=F("invoice__number"),
    ).iterator(CHUNK)


def _versions(model, query):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("history_user_id",)]
    rows = model.objects.filter(query).order_by("history_date", "history_id").values(
        *fields, changed_by=F("history_user__full_name"))
    return rows.iterator(CHUNK)


def mentee_session_versions(mentee):
    """Every version of their sessions; a withheld internal note is withheld from its versions too."""
    model = ServiceAppointment.history.model
    fields = [f.attname for f in model._meta.concrete_fields if f.attname != "history_user_id"]
    rows = model.objects.filter(mentee_id=mentee.pk).order_by("history_date", "history_id").values(
        *fields, changed_by=F("history_user__full_name"),
        withheld=Exists(WithheldNote.objects.filter(appointment_id=OuterRef("id"))))
    for row in rows.iterator(CHUNK):
        if row.pop("withheld") and row["cancellation_note"]:
            row["cancellation_note"] = "Withheld from this export"
        yield row


def mentee_sign_offs(mentee):
    rows = SessionSignOff.objects.filter(appointment__mentee=mentee).order_by("requested_at", "pk").values(
        "state", "requested_at", "answered_at", "how", "comment", "first_reminder_at", "month_end_reminder_at",
        session=F("appointment__reference"), recorded_by_name=F("recorded_by__full_name"), why_recorded=F("reason"),
    )
    return _labelled(rows.iterator(CHUNK), state=dict(SessionSignOff.State.choices),
                     how=dict(SessionSignOff.How.choices))


def mentee_sign_off_versions(mentee):
    """Every version of their sign-offs, without the key inside their links."""
    model = SessionSignOff.history.model
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("history_user_id", "link_key")]
    rows = model.objects.filter(appointment__mentee=mentee).order_by("history_date", "history_id").values(
        *fields, changed_by=F("history_user__full_name"))
    return rows.iterator(CHUNK)


def mentee_funding_versions(mentee):
    return _versions(FundingArrangement.history.model, Q(mentee_id=mentee.pk))


def mentee_invoice_versions(mentee):
    return _versions(Invoice.history.model, Q(mentee_id=mentee.pk))


def mentee_credit_note_versions(mentee):
    return _versions(CreditNote.history.model, Q(invoice__mentee=mentee))


def mentee_assignments(mentee):
    return MentorAssignment.objects.filter(mentee=mentee).order_by("assigned_at", "pk").values(
        "assigned_at", mentor_name=F("mentor__user__full_name"), assigned_by_name=F("assigned_by__full_name"),
    ).iterator(CHUNK)


def mentee_series(mentee):
    rows = AppointmentSeries.objects.filter(mentee=mentee).order_by("created_at", "pk").values(
        "first_date", "until", "interval_weeks", "start_time", "booked_minutes", "mode", "location", "created_at",
        number_of_sessions=F("count"), mentor_name=F("mentor__user__full_name"),
        booked_by_name=F("created_by__full_name"),
    )
    return _labelled(rows.iterator(CHUNK), mode=MODES)


def _session_credit_notes(mentee) -> Q:
    return Q(invoice_line__appointment__mentee=mentee)


def mentee_session_credit_notes(mentee):
    """Credit notes for one of their sessions, on their own invoices or a funder's (only the line about them)."""
    return SessionCreditNote.objects.filter(_session_credit_notes(mentee)).order_by("issue_date", "pk").values(
        "number", "issue_date", "reason", "net", "vat", "total", session=F("invoice_line__reference"),
        invoice_number=F("invoice__number"), billed_to=F("invoice__bill_to_name"),
    ).iterator(CHUNK)


def mentee_statement_adjustments(mentee):
    """Corrections to their sessions after the mentor was paid for them: what changed and why (not the mentor's
    pay, which is the mentor's)."""
    return StatementAdjustment.objects.filter(appointment__mentee=mentee).order_by("created_at", "pk").values(
        "session_date", "reference", "description", "reason", "created_at",
        corrected_by_name=F("created_by__full_name"),
    ).iterator(CHUNK)


def mentee_session_credit_note_versions(mentee):
    return _versions(SessionCreditNote.history.model, _session_credit_notes(mentee))


# --------------------------------------------------------------------------- a mentor


def mentor_profile(mentor):
    return Mentor.objects.filter(pk=mentor.pk).values(
        "id", "hourly_pay_rate", "address", "is_active", full_name=F("user__full_name"), email=F("user__email"),
        joined=F("user__date_joined"), last_log_in=F("user__last_login"), can_log_in=F("user__is_active"),
    )


def mentor_roles(mentor):
    return User.groups.through.objects.filter(user_id=mentor.user_id).order_by("group__name").values(
        role=F("group__name"))


def mentor_pay_rates(mentor):
    return MentorPayRate.objects.filter(mentor=mentor).order_by("valid_from").values(
        "valid_from", "hourly_rate").iterator(CHUNK)


def mentor_sessions(mentor):
    """Their sessions: when, what happened and who acted. Not the mentee's name or notes: those are the mentee's."""
    rows = ServiceAppointment.objects.filter(mentor=mentor).order_by("starts_at", "pk").values(
        "reference", "starts_at", "ends_at", "mode", "status", "outcome", "actual_minutes", "wrapped_up_at",
        wrapped_up_by_name=F("wrapped_up_by__full_name"), cancelled_by_name=F("cancelled_by__full_name"),
        cancelled_on=F("cancelled_at"),
    )
    return _labelled(rows.iterator(CHUNK), status=STATUSES, outcome=OUTCOMES, mode=MODES)


def mentor_actions(mentor):
    rows = AppointmentEvent.objects.filter(Q(actor_id=mentor.user_id) | Q(on_behalf_of_id=mentor.user_id)).order_by(
        "occurred_at", "pk").values("kind", "occurred_at", session=F("appointment__reference"),
                                    by=F("actor__full_name"), on_behalf_of_name=F("on_behalf_of__full_name"))
    return _labelled(rows.iterator(CHUNK), kind=dict(AppointmentEvent.Kind.choices))


def mentor_wrap_up_requests(mentor):
    rows = WrapUpRequest.objects.filter(mentor=mentor).order_by("created_at").values(
        "id", "message", "created_at", "status", "done_at", done_by_name=F("done_by__full_name"))
    return _labelled(rows.iterator(CHUNK), status=dict(WrapUpRequest.Status.choices))


def mentor_wrap_up_request_items(mentor):
    rows = WrapUpRequestItem.objects.filter(request__mentor=mentor).order_by("request_id", "pk").values(
        "request_id", "outcome", session=F("appointment__reference"))
    return _labelled(rows.iterator(CHUNK), outcome=OUTCOMES)


def mentor_tickets(mentor):
    return _tickets(Q(raised_by_id=mentor.user_id))


def mentor_emails(mentor):
    return _emails(_addressed_to(mentor.user.email))


def mentor_statements(mentor):
    rows = PaymentStatement.objects.filter(mentor=mentor)
    return _labelled(rows.order_by("period_start", "pk").values(
        "number", "status", "issue_date", "period_start", "period_end", "total", "supplier_address", "paid_at",
    ).iterator(CHUNK), status=dict(PaymentStatement.Status.choices))


def mentor_statement_lines(mentor):
    rows = StatementLine.objects.filter(statement__mentor=mentor)
    return _labelled(rows.order_by("session_date", "pk").values(
        "session_date", "reference", "mentee_name", "outcome", "minutes", "hourly_rate", "amount",
        "wrapped_up_by_name", "on_behalf", "is_late", statement_number=F("statement__number"),
    ).iterator(CHUNK), outcome=OUTCOMES)


def mentor_statement_versions(mentor):
    return _versions(PaymentStatement.history.model, Q(mentor_id=mentor.pk))


def mentor_assignments(mentor):
    """The mentees assigned to them, by number (a mentee's name is the mentee's personal data)."""
    return MentorAssignment.objects.filter(mentor=mentor).order_by("assigned_at", "pk").values(
        "assigned_at", mentee_number=F("mentee_id"), assigned_by_name=F("assigned_by__full_name"),
    ).iterator(CHUNK)


def mentor_series(mentor):
    rows = AppointmentSeries.objects.filter(mentor=mentor).order_by("created_at", "pk").values(
        "first_date", "until", "interval_weeks", "start_time", "booked_minutes", "mode", "created_at",
        number_of_sessions=F("count"), booked_by_name=F("created_by__full_name"),
    )
    return _labelled(rows.iterator(CHUNK), mode=MODES)


def mentor_bank_details(mentor):
    """In full: under a subject access request they are the mentor's own data."""
    return MentorBankDetails.objects.filter(mentor=mentor).values(
        "account_name", "sort_code", "account_number", "updated_at", updated_by_name=F("updated_by__full_name"))


BANK_DETAILS_HISTORY = {"+": "Entered", "~": "Changed or seen in full", "-": "Deleted"}


def mentor_bank_details_versions(mentor):
    """Each version: who entered or changed them, and who saw them in full (the history records each view)."""
    rows = MentorBankDetails.history.model.objects.filter(mentor_id=mentor.pk).order_by(
        "history_date", "history_id").values(
        "account_name", "sort_code", "account_number", when=F("history_date"), what=F("history_type"),
        note=F("history_change_reason"), by=F("history_user__full_name"))
    return _labelled(rows.iterator(CHUNK), what=BANK_DETAILS_HISTORY)


def mentor_payments(mentor):
    rows = PaymentRunItem.objects.filter(mentor=mentor).order_by("run__payment_date", "pk").values(
        "amount", "reference", "account_name", "sort_code", "account_number", "live",
        payment_run=F("run__number"), payment_run_status=F("run__status"), payment_date=F("run__payment_date"),
        paid_at=F("run__paid_at"), statement_number=F("statement__number"),
    )
    return _labelled(rows.iterator(CHUNK), payment_run_status=dict(PaymentRun.Status.choices))


def mentor_statement_adjustments(mentor):
    return StatementAdjustment.objects.filter(mentor=mentor).order_by("created_at", "pk").values(
        "session_date", "reference", "mentee_name", "description", "reason", "was_amount", "now_amount", "amount",
        "created_at", statement_number=F("statement__number"), corrects_statement=F("corrects__statement__number"),
    ).iterator(CHUNK)


def mentor_statement_adjustment_versions(mentor):
    return _versions(StatementAdjustment.history.model, Q(mentor_id=mentor.pk))


def _log_ins(model, mentor, *fields):
    return model.objects.filter(username__iexact=mentor.user.email).order_by("attempt_time").values(
        "attempt_time", "ip_address", "user_agent", *fields).iterator(CHUNK)


def mentor_log_ins(mentor):
    return _log_ins(AccessLog, mentor, "logout_time")


def mentor_failed_log_ins(mentor):
    return _log_ins(AccessFailureLog, mentor, "locked_out")


def mentor_lock_outs(mentor):
    return _log_ins(AccessAttempt, mentor, "failures_since_start")


# --------------------------------------------------------------------------- the sections, in the export's order

MENTEE_SECTIONS = (
    Section("profile", "Your details", "As held on your mentee account.", (Mentee,), mentee_profile),
    Section("funding_arrangements", "How your sessions are paid for",
            "Funded (by a funder, with its reference) or Self-funded, over the dates shown.",
            (FundingArrangement,), mentee_funding),
    Section("sessions", "Your sessions", "Every Service Appointment, with the notes and outcome recorded at wrap-up "
            "and, for a cancelled session, the reason and the internal note (unless withheld, with why).",
            (ServiceAppointment, WithheldNote), mentee_sessions),
    Section("session_history", "What happened to each session", "Who booked, changed, wrapped up or cancelled it.",
            (AppointmentEvent,), mentee_session_history),
    Section("emails", "Emails about you", "Emails sent to you, and emails about your sessions sent to others "
            "(a funder's attendance emails).", (OutboxEmail,), mentee_emails),
    Section("finance_tickets", "Questions to Finance about your sessions", "", (FinanceTicket,), mentee_tickets),
    Section("sign_offs", "Your confirmations of your sessions", "Whether you confirmed or disputed each session, "
            "when and how, and your comment.", (SessionSignOff,), mentee_sign_offs),
    Section("invoices", "Invoices addressed to you", "Invoices for self-funded sessions, drafts included (PDFs of issued ones in documents/).",
            (Invoice,), mentee_invoices),
    Section("invoice_lines", "Your sessions on invoices", "The lines about your sessions on every invoice, "
            "including those addressed to a funder.", (InvoiceLine,), mentee_invoice_lines),
    Section("credit_notes", "Credit notes addressed to you", "", (CreditNote,), mentee_credit_notes),
    Section("mentors", "Your mentors", "The mentors you are assigned to, who may book sessions with you.",
            (MentorAssignment,), mentee_assignments),
    Section("repeat_bookings", "Your repeating sessions", "Sessions booked together to repeat every few weeks "
            "(each session is also under Your sessions).", (AppointmentSeries,), mentee_series),
    Section("session_credit_notes", "Credit notes for one of your sessions", "A session taken off an invoice "
            "after it was corrected (on your invoice or a funder's).", (SessionCreditNote,),
            mentee_session_credit_notes),
    Section("session_corrections_after_payment", "Corrections to your sessions after the mentor was paid",
            "What was corrected and why.", (StatementAdjustment,), mentee_statement_adjustments),
    Section("session_versions", "Earlier versions of your sessions", "The audit trail: every saved version.",
            (ServiceAppointment.history.model,), mentee_session_versions, in_summary=False),
    Section("funding_versions", "Earlier versions of your funding arrangements", "",
            (FundingArrangement.history.model,), mentee_funding_versions, in_summary=False),
    Section("invoice_versions", "Earlier versions of your invoices", "", (Invoice.history.model,),
            mentee_invoice_versions, in_summary=False),
    Section("credit_note_versions", "Earlier versions of your credit notes", "", (CreditNote.history.model,),
            mentee_credit_note_versions, in_summary=False),
    Section("session_credit_note_versions", "Earlier versions of the credit notes for one of your sessions", "",
            (SessionCreditNote.history.model,), mentee_session_credit_note_versions, in_summary=False),
    Section("sign_off_versions", "Earlier versions of your confirmations", "", (SessionSignOff.history.model,),
            mentee_sign_off_versions, in_summary=False),
)

MENTOR_SECTIONS = (
    Section("profile", "Your details", "Your log-in account and mentor record (the calendar feed's secret address "
            "is left out: it is a key, not information about you).", (User, Mentor), mentor_profile),
    Section("roles", "Your roles", "", (User.groups.through,), mentor_roles),
    Section("pay_rates", "Your pay rates", "From each date on.", (MentorPayRate,), mentor_pay_rates),
    Section("bank_details", "Your bank details", "Shown in full: this export is then as sensitive as a bank "
            "statement; keep it safe.", (MentorBankDetails,), mentor_bank_details),
    Section("bank_details_versions", "Changes to your bank details, and who saw them in full", "",
            (MentorBankDetails.history.model,), mentor_bank_details_versions),
    Section("mentees", "Your mentees", "The mentees assigned to you, by number (their names are theirs).",
            (MentorAssignment,), mentor_assignments),
    Section("repeat_bookings", "Your repeating sessions", "Sessions booked together to repeat every few weeks.",
            (AppointmentSeries,), mentor_series),
    Section("sessions", "Your sessions", "When, what happened and who acted. The mentee's name and notes are the "
            "mentee's personal data and are left out.", (ServiceAppointment,), mentor_sessions),
    Section("actions", "What you did", "Sessions you booked, wrapped up or cancelled, or that were done for you.",
            (AppointmentEvent,), mentor_actions),
    Section("wrap_up_requests", "Your wrap-up requests to Senior Leadership", "", (WrapUpRequest,),
            mentor_wrap_up_requests),
    Section("wrap_up_request_items", "The sessions in your wrap-up requests", "", (WrapUpRequestItem,),
            mentor_wrap_up_request_items),
    Section("finance_tickets", "Your questions to Finance", "", (FinanceTicket,), mentor_tickets),
    Section("emails", "Emails sent to you", "", (OutboxEmail,), mentor_emails),
    Section("payment_statements", "Your payment statements", "Drafts included (PDFs of issued ones in documents/).",
            (PaymentStatement,), mentor_statements),
    Section("payment_statement_lines", "The lines of your payment statements", "", (StatementLine,),
            mentor_statement_lines),
    Section("statement_adjustments", "Adjustments to your pay after a correction", "A session corrected after a "
            "payment statement paid it: the difference goes on your next statement.", (StatementAdjustment,),
            mentor_statement_adjustments),
    Section("payments", "Payments to you", "Each payment to your bank account in a payment run (a cancelled "
            "run's payments were not made).", (PaymentRunItem,), mentor_payments),
    Section("payment_statement_versions", "Earlier versions of your payment statements", "",
            (PaymentStatement.history.model,), mentor_statement_versions, in_summary=False),
    Section("statement_adjustment_versions", "Earlier versions of your pay adjustments", "",
            (StatementAdjustment.history.model,), mentor_statement_adjustment_versions, in_summary=False),
    Section("log_ins", "Your log-ins", "", (AccessLog,), mentor_log_ins),
    Section("failed_log_ins", "Failed log-ins with your email address", "", (AccessFailureLog,),
            mentor_failed_log_ins),
    Section("lock_outs", "Lock-outs of your email address", "", (AccessAttempt,), mentor_lock_outs),
)

SECTIONS = {Subject.MENTEE: MENTEE_SECTIONS, Subject.MENTOR: MENTOR_SECTIONS}


def documents(kind: str, person) -> Iterator[tuple[str, str]]:
    """(name in the ZIP, storage name) of each issued document addressed to the person that has a PDF."""
    if kind == Subject.MENTEE:
        for number, pdf in Invoice.objects.filter(mentee=person).exclude(pdf="").exclude(
                status=Invoice.Status.DRAFT).values_list("number", "pdf").iterator(CHUNK):
            yield f"documents/invoice-{number}.pdf", pdf
        for number, pdf in CreditNote.objects.filter(invoice__mentee=person).exclude(pdf="").values_list(
                "number", "pdf").iterator(CHUNK):
            yield f"documents/credit-note-{number}.pdf", pdf
        for number, pdf in SessionCreditNote.objects.filter(invoice__mentee=person).exclude(pdf="").values_list(
                "number", "pdf").iterator(CHUNK):
            yield f"documents/credit-note-{number}.pdf", pdf
    else:
        for number, pdf in PaymentStatement.objects.filter(mentor=person).exclude(pdf="").exclude(
                status=PaymentStatement.Status.DRAFT).values_list("number", "pdf").iterator(CHUNK):
            yield f"documents/payment-statement-{number}.pdf", pdf


# --------------------------------------------------------------------------- before an erasure


def erasure_preview(kind: str, person) -> dict:
    """What "Erase this person" will anonymise, and which documents it keeps (and until when)."""
    from django.utils import timezone

    from privacy.services.common import retained_until

    today = timezone.localdate()
    if kind == Subject.MENTEE:
        sessions = ServiceAppointment.objects.filter(mentee=person)
        anonymised = [
            ("Sessions (notes, Admin Details, internal notes, locations)", sessions.count()),
            ("Emails to them or about their sessions", OutboxEmail.objects.filter(
                Q(appointment__mentee=person) | _addressed_to(person.email)).count()),
            ("Finance tickets about their sessions", FinanceTicket.objects.filter(appointment__mentee=person).count()),
            ("Assignments to mentors (removed)", MentorAssignment.objects.filter(mentee=person).count()),
            ("Repeating series (locations)", AppointmentSeries.objects.filter(mentee=person).count()),
            ("Corrections to mentors' pay about their sessions (what was corrected)",
             StatementAdjustment.objects.filter(appointment__mentee=person).count()),
        ]
        documents = [(f"Invoice {number}", day) for number, day in Invoice.objects.filter(mentee=person).exclude(
            issue_date=None).values_list("number", "issue_date")]
        documents += [(f"Credit note {number}", day) for number, day in SessionCreditNote.objects.filter(
            invoice_line__appointment__mentee=person).values_list("number", "issue_date")]
        documents += [(f"Invoice {number} (lines naming them)", day) for number, day in Invoice.objects.filter(
            lines__appointment__mentee=person).exclude(issue_date=None).exclude(mentee=person).distinct().values_list(
            "number", "issue_date")]
    else:
        anonymised = [
            ("Log-in account (name, email, password; switched off)", 1),
            ("Emails to them", OutboxEmail.objects.filter(_addressed_to(person.user.email)).count()),
            ("Questions they asked Finance", FinanceTicket.objects.filter(raised_by_id=person.user_id).count()),
            ("Wrap-up requests' messages", WrapUpRequest.objects.filter(mentor=person).count()),
            ("Bank details, with every earlier version (deleted)",
             MentorBankDetails.objects.filter(mentor=person).count()),
            ("Assignments to mentees (removed)", MentorAssignment.objects.filter(mentor=person).count()),
        ]
        documents = [(f"Payment statement {number}", day) for number, day in PaymentStatement.objects.filter(
            mentor=person).exclude(issue_date=None).values_list("number", "issue_date")]
        documents += [(f"Payment in run {number} (the name on the account, the last digits of its number)", day)
                      for number, day in PaymentRun.objects.filter(items__mentor=person, items__live=True).values_list(
                          "number", "payment_date")]
    kept = sorted(((label, retained_until(day)) for label, day in documents if retained_until(day) >= today),
                  key=lambda item: (item[1], item[0]))
    return {"anonymised": anonymised, "kept": kept}
