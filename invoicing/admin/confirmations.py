"""Confirmation before anything irreversible: issuing invoices or payment statements, marking them paid.

As Django's "Delete selected" does, the action first returns a page (`admin/invoicing/confirm_action.html`) saying
what will happen: how many documents, to whom, for which months, the totals, which are older than last month, which
will be refused and why, which are left as they are; the button says it ("Yes, issue 6 invoices"). What the page
says is worked out by the service itself, run in a transaction that is rolled back (`dry_run`), so the page and the
service cannot disagree: a refusal on the page is the service's own (VAT registration, a customer's address, a
closed month). The page carries the ids it promised to change; if that is no longer what the service would do (a
colleague issued some meanwhile, a second submit), the page is shown again, saying so, and nothing happens.

A draft's own page has "Issue" (the same confirmation, for that one document) and "Preview PDF" (the PDF it would
be issued with, rendered in a rolled-back issue).
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format

from invoicing.models import Invoice, PaymentStatement
from invoicing.services import (
    InvoicesRefused,
    invoice_mark_paid,
    invoices_issue,
    statement_mark_paid,
    statements_issue,
)
from invoicing.services.payment_runs import owes_text
from invoicing.services.pdf import html_to_pdf, invoice_html, statement_html

SHOWN = 200  # rows listed per group on the page; the counts and totals cover every one


# --------------------------------------------------------------------------- what each action is


@dataclass(frozen=True)
class Irreversible:
    model: type
    action: str  # the admin action's name
    verb: str  # "issue": the button says "Yes, issue 6 invoices"
    heading: str  # "Issue invoices"
    happens: str  # what happens to each document, and that it cannot be undone
    service: Callable  # (ids, user) -> whatever the service returns
    left: Callable  # (row) -> why a selected document is left as it is
    after: str = ""  # the button's words after the count: "as paid"

    @property
    def nouns(self) -> tuple[str, str]:
        return (str(self.model._meta.verbose_name), str(self.model._meta.verbose_name_plural))

    def count(self, n: int) -> str:
        one, many = self.nouns
        return f"{n} {one if n == 1 else many}"

    def button(self, n: int) -> str:
        return f"Yes, {self.verb} {self.count(n)}{' ' + self.after if self.after else ''}"


def _invoice_left(row) -> str:
    return {
        Invoice.Status.DRAFT: "a draft: it has not been issued",
        Invoice.Status.ISSUED: f"already issued as {row['number']}",
        Invoice.Status.PAID: f"{row['number']} is already paid",
        Invoice.Status.CREDITED: f"{row['number']} is credited",
    }[row["status"]]


def _statement_left(row) -> str:
    if row["status"] == PaymentStatement.Status.APPROVED and row["total"] < 0:  # as the payment run says it
        statement = PaymentStatement.objects.select_related("carried_forward__statement").get(pk=row["pk"])
        return f"{row['number']}: {owes_text(statement)}"
    return {
        PaymentStatement.Status.DRAFT: "a draft: it has not been issued or approved for payment",
        PaymentStatement.Status.ISSUED: f"{row['number']} is issued but not approved for payment",
        PaymentStatement.Status.APPROVED: f"already issued as {row['number']}",
        PaymentStatement.Status.PAID: f"{row['number']} is already paid",
    }[row["status"]]


def _statement_issue_left(row) -> str:
    return f"already issued as {row['number']}"


ISSUE_INVOICES = Irreversible(
    Invoice, "issue_selected", "issue", "Issue invoices",
    "Each is given the next invoice number, rendered to PDF and emailed to its customer. An issued invoice cannot be "
    "changed or withdrawn: it can only be credited.",
    lambda ids, user: invoices_issue(invoice_ids=ids, acting_user=user), _invoice_left)
MARK_INVOICES_PAID = Irreversible(
    Invoice, "mark_paid", "mark", "Mark invoices as paid",
    "Each is recorded as paid today, in its history. This cannot be undone in the admin.",
    lambda ids, user: invoice_mark_paid(invoice_ids=ids, acting_user=user), _invoice_left, after="as paid")
ISSUE_STATEMENTS = Irreversible(
    PaymentStatement, "issue_selected", "issue", "Issue payment statements",
    "Each is given the next statement number, rendered to PDF and emailed to its mentor (it is a self-billing "
    "invoice). An issued statement cannot be changed.",
    lambda ids, user: statements_issue(statement_ids=ids, acting_user=user), _statement_issue_left)
MARK_STATEMENTS_PAID = Irreversible(
    PaymentStatement, "mark_paid", "mark", "Mark payment statements as paid",
    "Each is recorded as paid today, in its history, and its mentor's pages show it paid. This cannot be undone in "
    "the admin.",
    lambda ids, user: statement_mark_paid(statement_ids=ids, acting_user=user), _statement_left, after="as paid")


# --------------------------------------------------------------------------- what the service would do


@dataclass
class DryRun:
    """What the service would do to the selected documents, as the service itself did it and then rolled back."""

    changed: list[dict] = field(default_factory=list)  # each document as the service would leave it
    refused: list[dict] = field(default_factory=list)  # with "why"
    left: list[dict] = field(default_factory=list)  # with "why"
    messages: list[str] = field(default_factory=list)  # the service's refusal, as it says it

    @property
    def token(self) -> str:
        """What the page promised, in one short field: a digest of the ids it would change."""
        ids = ",".join(str(pk) for pk in sorted(row["pk"] for row in self.changed))
        return hashlib.sha256(ids.encode()).hexdigest()


def _rows(model, ids) -> dict[int, dict]:
    queryset = model.objects.filter(pk__in=ids).annotate(sessions=Count("lines")).order_by("period_start", "pk")
    if model is Invoice:
        fields = ("pk", "number", "status", "period_start", "bill_to_name", "bill_to_email", "net", "vat", "total",
                  "kind", "sessions")
    else:
        fields = ("pk", "number", "status", "period_start", "mentor__user__full_name", "mentor__user__email",
                  "total", "sessions")
    rows = {}
    for row in queryset.values(*fields):
        if model is PaymentStatement:
            row["bill_to_name"], row["bill_to_email"] = row.pop("mentor__user__full_name"), row.pop(
                "mentor__user__email")
        rows[row["pk"]] = row
    return rows


def dry_run(spec: Irreversible, ids: list[int], user) -> DryRun:
    result = DryRun()
    with transaction.atomic():
        before = _rows(spec.model, ids)
        refused, asked = {}, list(before)
        while asked:
            try:
                with transaction.atomic():
                    spec.service(asked, user)
            except InvoicesRefused as refusal:
                result.messages = result.messages or refusal.messages
                refused.update(refusal.refused)
            except ValidationError as refusal:
                result.messages = result.messages or refusal.messages
                refused.update({pk: " ".join(refusal.messages) for pk in asked if before[pk]["status"] == "draft"})
            else:
                break
            # What the service would do with the others, which is what "Yes, issue the other N" asks for.
            asked = [pk for pk in asked if pk not in refused] if any(pk in refused for pk in asked) else []
        after = _rows(spec.model, list(before))
        transaction.set_rollback(True)
    for pk, row in after.items():
        if pk in refused:
            result.refused.append({**before[pk], "why": refused[pk]})
        elif row["status"] != before[pk]["status"]:
            result.changed.append(row)
        else:
            result.left.append({**row, "why": spec.left(row)})
    return result


# --------------------------------------------------------------------------- the page


def _first_of_last_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def _months(rows) -> str:
    months = sorted({row["period_start"] for row in rows})
    names = [date_format(month, "F Y") for month in months]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _names(rows, limit=8) -> str:
    names = sorted({row["bill_to_name"] for row in rows}, key=str.lower)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _mark_older(rows, today):
    cutoff = _first_of_last_month(today)
    for row in rows:
        row["older"] = row["period_start"] < cutoff
        row["period"] = date_format(row["period_start"], "F Y")
    return rows


def _change_url(model, pk) -> str:
    return reverse(f"admin:invoicing_{model._meta.model_name}_change", args=[pk])


def render_confirmation(model_admin, request, spec: Irreversible, ids: list[int], plan: DryRun, *,
                        cancel_url: str, note: str = "") -> TemplateResponse:
    today = timezone.localdate()
    changed = _mark_older(plan.changed, today)
    for group in (changed, plan.refused, plan.left):
        for row in group:
            row["url"] = _change_url(spec.model, row["pk"])
    _mark_older(plan.refused, today)
    _mark_older(plan.left, today)
    older = [row for row in changed if row["older"]]
    money_fields = ("net", "vat", "total") if spec.model is Invoice else ("total",)
    totals = {name: sum((row[name] for row in changed), Decimal("0.00")) for name in money_fields}
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{spec.heading}: are you sure?",
        "subtitle": None,
        "opts": spec.model._meta,
        "spec": spec,
        "is_invoice": spec.model is Invoice,
        "changed": changed[:SHOWN], "changed_more": max(0, len(changed) - SHOWN),
        "refused": plan.refused[:SHOWN], "refused_more": max(0, len(plan.refused) - SHOWN),
        "left": plan.left[:SHOWN], "left_more": max(0, len(plan.left) - SHOWN),
        "count": spec.count(len(changed)),
        "n_changed": len(changed),
        # Posted back in one field (a month's invoices can be more than the 1,000 fields Django accepts in a post):
        # every selected document but the refused ones, so the action's messages also name those it leaves.
        "ids": ",".join(str(pk) for pk in sorted([row["pk"] for row in changed] + [row["pk"] for row in plan.left])),
        "button": spec.button(len(changed)),
        "to_whom": _names(changed) if changed else "",
        "customers": len({row["bill_to_name"] for row in changed}),
        "months": _months(changed) if changed else "",
        "older": older,
        "last_month": date_format(_first_of_last_month(today), "F Y"),
        "totals": totals,
        "token": plan.token,
        "first_id": min((row["pk"] for row in changed), default=""),
        "refusal_messages": plan.messages,
        "note": note,
        "action_url": reverse(f"admin:invoicing_{spec.model._meta.model_name}_changelist"),
        "cancel_url": cancel_url,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": model_admin.media,
    }
    return TemplateResponse(request, "admin/invoicing/confirm_action.html", context)


def confirm(model_admin, request, queryset, spec: Irreversible, perform: Callable, *, cancel_url: str | None = None):
    """The action's body: the confirmation page, unless this POST comes from it with what the service would still do
    now, in which case `perform(queryset)` runs on the documents the page listed (and says what it did, as before).
    The page posts "select all" with its ids in one field: the queryset Django hands the action is then the whole
    list, narrowed here to those ids, and only that narrowed one may be acted on."""
    confirmed = request.POST.get("post") == "yes"
    if confirmed and "ids" in request.POST:
        # The confirmation page's own post: "select all" with the ids it listed, in one field.
        queryset = queryset.filter(pk__in=_posted_ids(request.POST["ids"]))
        if not queryset.exists():
            model_admin.message_user(request, model_admin._selection_message(
                f"None of the selected {spec.nouns[1]} exist any more"), messages.ERROR)
            return None
    ids = list(queryset.values_list("pk", flat=True))
    plan = dry_run(spec, ids, request.user)
    cancel_url = cancel_url or request.get_full_path()
    if confirmed and plan.token == request.POST.get("confirm", "") and not plan.refused:
        return perform(queryset)
    if not plan.changed and not plan.refused:
        return perform(queryset)  # nothing it would do (already done, a second submit): the action says so, as always
    note = ""
    if confirmed:
        note = ("What this would do has changed since the page was shown (someone may have acted on these "
                f"{spec.nouns[1]} meanwhile), so nothing was done. Check the page again.")
    return render_confirmation(model_admin, request, spec, ids, plan, cancel_url=cancel_url, note=note)


def _posted_ids(value: str) -> set[int]:
    """The ids of the confirmation's "ids" field; anything that is not one (a tampered page) is left out."""
    ids = set()
    for part in value.split(","):
        part = part.strip()
        if part.isascii() and part.isdigit() and len(part) < 19:
            ids.add(int(part))
    return ids


# --------------------------------------------------------------------------- a draft's own page


class DraftToolsMixin:
    """"Issue" and "Preview PDF" on a draft's own page (object tools)."""

    issue_spec: Irreversible
    html_function: Callable

    def get_urls(self):
        name = f"invoicing_{self.opts.model_name}"
        return [
            path("<path:object_id>/issue/", self.admin_site.admin_view(self.issue_view), name=f"{name}_issue"),
            path("<path:object_id>/preview.pdf", self.admin_site.admin_view(self.preview_pdf_view),
                 name=f"{name}_preview_pdf"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == "draft":
            name = f"admin:invoicing_{self.opts.model_name}"
            if self.has_change_permission(request):
                context["issue_url"] = reverse(f"{name}_issue", args=[obj.pk])
            context["preview_pdf_url"] = reverse(f"{name}_preview_pdf", args=[obj.pk])
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _draft(self, request, object_id):
        """The draft, or the response saying why not."""
        obj = self.get_object(request, object_id)
        if obj is None:
            return None, self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if obj.status != "draft":
            self.message_user(request, f"{obj} is {obj.get_status_display().lower()}, not a draft.", messages.ERROR)
            return None, HttpResponseRedirect(_change_url(self.model, obj.pk))
        return obj, None

    def issue_view(self, request, object_id):
        if not self.has_change_permission(request):
            raise PermissionDenied
        obj, response = self._draft(request, object_id)
        if obj is None:
            return response
        plan = dry_run(self.issue_spec, [obj.pk], request.user)
        return render_confirmation(self, request, self.issue_spec, [obj.pk], plan,
                                   cancel_url=_change_url(self.model, obj.pk))

    def preview_pdf_view(self, request, object_id):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        obj, response = self._draft(request, object_id)
        if obj is None:
            return response
        try:
            pdf = self._preview_pdf(request, obj)
        except ValidationError as refusal:
            for message in refusal.messages:
                self.message_user(request, message, messages.ERROR)
            self.message_user(request, "Its PDF can be previewed once it can be issued.", messages.ERROR)
            return HttpResponseRedirect(_change_url(self.model, obj.pk))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="draft-{self.opts.model_name}-{obj.pk}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response

    def _preview_pdf(self, request, obj) -> bytes:
        """The PDF the draft would be issued with today, from an issue that is rolled back; marked as a draft."""
        with transaction.atomic():
            self.issue_spec.service([obj.pk], request.user)
            document = type(obj).objects.get(pk=obj.pk)
            document.number = "DRAFT (not issued)"
            html = type(self).html_function(document, inline_css=False)
            transaction.set_rollback(True)
        return html_to_pdf(html)


class InvoiceDraftTools(DraftToolsMixin):
    issue_spec = ISSUE_INVOICES
    html_function = staticmethod(invoice_html)


class StatementDraftTools(DraftToolsMixin):
    issue_spec = ISSUE_STATEMENTS
    html_function = staticmethod(statement_html)


__all__ = ["ISSUE_INVOICES", "ISSUE_STATEMENTS", "MARK_INVOICES_PAID", "MARK_STATEMENTS_PAID", "InvoiceDraftTools",
           "StatementDraftTools", "confirm", "dry_run"]
