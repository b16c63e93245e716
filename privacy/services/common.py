"""What erasure and the retention job share: the words left in place of erased values, the documents' retention
period, and writing the same anonymisation to a model's rows and to its history (django-simple-history's copies)."""

import re
from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Concat, Right
from django.utils import timezone
from django.utils.html import escape

from invoicing.models import CreditNote, Invoice, PaymentStatement, SessionCreditNote

ERASED = "[erased]"  # in a text the database requires (a ticket's message, a credit note's reason)


def history_model(model):
    history = getattr(model, "history", None)
    return getattr(history, "model", None)


def update_with_history(model, query: Q, values: dict, *, history_query: Q | None = None) -> int:
    """Writes `values` to the rows matching `query` and to every historical version of them (`history_query`,
    by default the versions whose id is one of those rows'). Returns the rows changed (not the versions)."""
    ids = list(model.objects.filter(query).values_list("pk", flat=True))
    changed = model.objects.filter(pk__in=ids).update(**values) if ids else 0
    historical = history_model(model)
    if historical is not None:
        fields = {name: value for name, value in values.items()
                  if any(f.name == name for f in historical._meta.concrete_fields)}
        if fields and (ids or history_query is not None):
            historical.objects.filter(history_query if history_query is not None else Q(id__in=ids)).update(**fields)
    return changed


# --------------------------------------------------------------------------- HMRC: six years after the year's end


def financial_year_end(day: date) -> date:
    """The end (5 April) of the UK financial year `day` falls in."""
    end = date(day.year, 4, 5)
    return end if day <= end else date(day.year + 1, 4, 5)


def retained_until(day: date) -> date:
    """The last day a document dated `day` must be kept: RETENTION_DOCUMENTS_YEARS after its year's end."""
    end = financial_year_end(day)
    return end.replace(year=end.year + settings.RETENTION_DOCUMENTS_YEARS)


def last_expired_year_end(today: date) -> date:
    """Documents dated on or before this day are past their retention period on `today`."""
    years = settings.RETENTION_DOCUMENTS_YEARS
    end = date(today.year - years, 4, 5)
    return end if today > date(today.year, 4, 5) else date(today.year - years - 1, 4, 5)


def documents_past_retention(model, today: date) -> Q:
    """Issued documents dated (their issue date) on or before the last expired year's end; drafts by their period's
    end. Their rows stay (sums and numbers are not personal data); the personal copies and the PDF go."""
    boundary = last_expired_year_end(today)
    if model in (CreditNote, SessionCreditNote):
        return Q(issue_date__lte=boundary)
    return Q(issue_date__lte=boundary) | Q(issue_date__isnull=True, period_end__lte=boundary)


def documents_not_retained(model, today: date) -> Q:
    """Past their retention period, or drafts (never issued, so no record HMRC needs)."""
    past = documents_past_retention(model, today)
    return past | Q(status="draft") if any(f.name == "status" for f in model._meta.fields) else past


def documents_retained(model, today: date) -> Q:
    return ~documents_not_retained(model, today)


DOCUMENT_MODELS = (Invoice, CreditNote, SessionCreditNote, PaymentStatement)


def payments_past_retention(today: date) -> Q:
    """Payment-run items (a payment to a mentor) by their run's payment date, as documents by their issue date."""
    return Q(run__payment_date__lte=last_expired_year_end(today))


def masked_bank_details() -> dict:
    """What a payment kept for HMRC keeps of the account it went to once its mentor is erased: the name on the
    account and the last digits, as the product shows them to those who may not see them in full."""
    return {"sort_code": Concat(Value("****"), Right("sort_code", 2)),
            "account_number": Concat(Value("****"), Right("account_number", 4))}


def remove_pdfs(model, query: Q, now) -> int:
    """Removes the PDFs of the documents matching `query` (the files once the transaction commits) and marks them
    so that the render job leaves them alone."""
    rows = list(dict(model.objects.filter(query).filter(pdf_removed_at__isnull=True).values_list("pk", "pdf")).items())
    if not rows:
        return 0
    ids = [pk for pk, _ in rows]
    update_with_history(model, Q(pk__in=ids), {"pdf": "", "pdf_removed_at": now})
    names = [name for _, name in rows if name]
    storage = model._meta.get_field("pdf").storage

    def delete_files():
        for name in names:
            storage.delete(name)

    transaction.on_commit(delete_files)
    return len(names)


def now_or(now):
    return now or timezone.now()


# --------------------------------------------------------------------------- finding a value in any text


def mention_pattern(values) -> re.Pattern | None:
    """A whole-word, case-insensitive pattern for each value (and its HTML-escaped form, as in email bodies)."""
    forms = set()
    for value in values:
        value = (value or "").strip()
        if len(value) >= 3:
            forms.update({value, escape(value)})
    if not forms:
        return None
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\w.@+-])(?:{alternatives})(?![\w@-])", re.IGNORECASE)
