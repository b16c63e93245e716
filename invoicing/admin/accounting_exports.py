"""The invoice and credit-note lists' exports for accounting packages: Xero's and QuickBooks Online's invoice
imports (`invoicing.exports_accounting`). Added to those lists' actions in `invoices`."""

from django.contrib import admin, messages
from django.utils import timezone

from invoicing.admin.documents import csv_response
from invoicing.exports_accounting import quickbooks_invoices_csv, xero_invoices_csv
from invoicing.models import CreditNote, Invoice

PACKAGES = {"xero": ("Xero", xero_invoices_csv), "quickbooks": ("QuickBooks Online", quickbooks_invoices_csv)}


def _export(model_admin, request, queryset, package: str):
    name, export = PACKAGES[package]
    stamp = f"{timezone.localdate():%Y-%m-%d}"
    if queryset.model is CreditNote:
        return csv_response(export(credit_notes=queryset), f"{package}-credit-notes-{stamp}.csv")
    if not queryset.exclude(status=Invoice.Status.DRAFT).exists():
        model_admin.message_user(request, f"None of the selected invoices has been issued, so there is nothing to "
                                          f"import into {name}.", messages.ERROR)
        return None
    credit_notes = CreditNote.objects.filter(invoice__in=queryset.order_by().values("pk"))
    return csv_response(export(invoices=queryset, credit_notes=credit_notes), f"{package}-invoices-{stamp}.csv")


@admin.action(description="Export selected for Xero's invoice import (CSV)", permissions=["view"])
def export_xero(model_admin, request, queryset):
    return _export(model_admin, request, queryset, "xero")


@admin.action(description="Export selected for QuickBooks Online's invoice import (CSV)", permissions=["view"])
def export_quickbooks(model_admin, request, queryset):
    return _export(model_admin, request, queryset, "quickbooks")
