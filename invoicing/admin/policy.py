"""Billing and pay policy (which outcomes are billed and paid), mentors' dated pay rates, and the organisation's
details on invoices and statements."""

from django import forms
from django.contrib import admin
from django.db.models import F
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse

from invoicing.models import MentorPayRate, OrganisationDetails, OutcomePolicy
from sessions_app.admin.common import IdAutocompleteMixin
from sessions_app.admin.funding import FunderOnlyListFilter
from sessions_app.admin.people import MentorAdmin, MentorListFilter
from sessions_app.models import Mentor, ServiceAppointment


# --------------------------------------------------------------------------- billing and pay policy, rates


Outcome = ServiceAppointment.Outcome


class OutcomePolicyForm(forms.ModelForm):
    class Meta:
        model = OutcomePolicy
        fields = ("funder", "outcome", "billed", "paid")

    def clean(self):
        # The database allows one rule per outcome for the default and for each funder; say so plainly. (An error
        # on "outcome" also spares Finance the constraint's own message.)
        cleaned_data = super().clean()
        funder, outcome = cleaned_data.get("funder"), cleaned_data.get("outcome")
        others = OutcomePolicy.objects.filter(funder=funder, outcome=outcome).exclude(pk=self.instance.pk)
        if outcome and others.exists():
            who = funder.name if funder else "The default"
            self.add_error(
                "outcome", f"{who} already has a rule for {Outcome(outcome).label}: change that one instead."
            )
        return cleaned_data


class DefaultRuleFunderFilter(FunderOnlyListFilter):
    """A rule without a funder is the default one."""

    empty_label = "Default (every other funder, and self-funded)"


@admin.register(OutcomePolicy)
class OutcomePolicyAdmin(IdAutocompleteMixin, admin.ModelAdmin):
    """Whether each outcome is billed and whether the mentor is paid: the default, and funders' own rules."""

    form = OutcomePolicyForm
    list_display = ("applies_to", "outcome", "billed", "paid")
    list_display_links = ("applies_to",)
    list_editable = ("billed", "paid")
    list_filter = ("outcome", "billed", "paid", ("funder", DefaultRuleFunderFilter))
    list_select_related = ("funder",)
    ordering = (F("funder__name").asc(nulls_first=True), "outcome")
    fields = ("funder", "outcome", "billed", "paid")
    autocomplete_fields = ("funder",)

    @admin.display(description="applies to", ordering=F("funder__name").asc(nulls_first=True))
    def applies_to(self, policy):
        return policy.funder.name if policy.funder_id else "Default (every other funder, and self-funded)"

    def get_actions(self, request):
        # A default rule is never deleted (without it the outcome would be neither billed nor paid), and a
        # funder's rule is deleted from its own page, one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.funder_id is None:
            return False
        return super().has_delete_permission(request, obj)


class MentorPayRateInline(admin.TabularInline):
    """A mentor's pay rate changes, on the mentor's page. Editable there by whoever may change the mentor;
    Finance adds them from "Mentor pay rates"."""

    model = MentorPayRate
    fields = ("valid_from", "hourly_rate")
    extra = 0

    def _may_change_mentor(self, request):
        return request.user.has_perm("sessions_app.change_mentor")

    def has_add_permission(self, request, obj=None):
        return self._may_change_mentor(request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_change_mentor(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_change_mentor(request) and super().has_delete_permission(request, obj)


class MentorWithPayRatesAdmin(MentorAdmin):
    fields = (*MentorAdmin.fields, "pay_rate_changes")
    readonly_fields = (*MentorAdmin.readonly_fields, "pay_rate_changes")
    inlines = (MentorPayRateInline,)

    @admin.display(description="pay rate changes")
    def pay_rate_changes(self, mentor):
        if mentor.pk is None:
            return "-"
        return render_to_string("admin/invoicing/includes/mentor_pay_rate_changes.html", {"mentor": mentor})


admin.site.unregister(Mentor)
admin.site.register(Mentor, MentorWithPayRatesAdmin)


@admin.register(MentorPayRate)
class MentorPayRateAdmin(IdAutocompleteMixin, admin.ModelAdmin):
    list_display = ("mentor", "hourly_rate", "valid_from")
    list_filter = (("mentor", MentorListFilter), "valid_from")
    list_select_related = ("mentor__user",)
    search_fields = ("mentor__user__full_name", "mentor__user__email")
    search_help_text = "Search by mentor name or email."
    ordering = ("mentor__user__full_name", "-valid_from")
    autocomplete_fields = ("mentor",)
    fields = ("mentor", "valid_from", "hourly_rate")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["valid_from"].help_text = (
            "Sessions on or after this day are paid at this rate, until the mentor's next change. "
            "Statements already generated keep the rate they were generated with."
        )
        return form


@admin.register(OrganisationDetails)
class OrganisationDetailsAdmin(admin.ModelAdmin):
    """One row: what invoices and statements say about us, and how they are issued."""

    fieldsets = (
        ("On invoices and statements", {"fields": ("name", "address", "email", "vat_registered", "vat_number",
                                                   "bank_details")}),
        ("Paying mentors", {
            "fields": ("payer_account_name", "payer_sort_code", "payer_account_number"),
            "description": "The account mentors are paid from: the originator of the payment runs' Bacs files.",
        }),
        ("Terms", {
            "fields": ("vat_rate", "payment_terms_days", "issue_automatically"),
            "description": "A new VAT rate applies to invoices the month-end job creates from now on; "
                           "payment terms and VAT registration to invoices issued from now on.",
        }),
    )

    def changelist_view(self, request, extra_context=None):
        details = OrganisationDetails.objects.first()
        if details is not None and self.has_view_or_change_permission(request, details):
            return HttpResponseRedirect(reverse("admin:invoicing_organisationdetails_change", args=[details.pk]))
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not OrganisationDetails.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.pk = 1  # the one row
        super().save_model(request, obj, form, change)
