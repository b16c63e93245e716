"""The Finance queue (sessions awaiting Finance and open tickets) and the tickets themselves.

Tickets come from users (the wrap-up, the ticket form), so they cannot be added or deleted here. Their
change page shows the ticket read-only with a reply box; saving a reply calls `ticket_reply`, which closes it.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Value, When
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from invoicing.models import FinanceTicket
from invoicing.selectors import finance_queue
from invoicing.services import ticket_reply
from sessions_app.models import ServiceAppointment

Open = FinanceTicket.Status.OPEN


class _ReplyRefused(Exception):
    """`ticket_reply` refused the reply; raised out of the admin's transaction so nothing it did is kept."""

    def __init__(self, error: ValidationError):
        super().__init__(*error.messages)
        self.messages = error.messages


class FinanceTicketReplyForm(forms.ModelForm):
    answer = forms.CharField(
        label="Reply", required=False, widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        help_text="Sending the reply answers the ticket and closes it; the person who raised it sees your reply.",
    )

    class Meta:
        model = FinanceTicket
        fields = ()


def _appointment_admin_link(appointment: ServiceAppointment):
    url = reverse("admin:sessions_app_serviceappointment_change", args=[appointment.pk])
    return format_html('<a href="{}">{}</a>', url, appointment.reference)


@admin.register(FinanceTicket)
class FinanceTicketAdmin(admin.ModelAdmin):
    form = FinanceTicketReplyForm
    list_display = ("subject", "status", "kind", "session", "raised_by", "raised_at", "replied_by", "replied_at")
    list_display_links = ("subject",)
    list_filter = ("status", "kind")
    list_select_related = ("appointment", "raised_by", "replied_by")
    search_fields = ("subject", "appointment__reference", "raised_by__full_name", "raised_by__email")
    search_help_text = "Search by subject, SA reference, or the name or email of who raised it."
    # Open tickets first, then the oldest first.
    ordering = (Case(When(status=Open, then=Value(0)), default=Value(1)).asc(), "raised_at")
    readonly_fields = (
        "subject", "kind", "session_detail", "mentor", "mentee", "raised_by", "raised_at", "message",
        "status", "reply", "replied_by", "replied_at",
    )

    def get_urls(self):
        return [
            path("queue/", self.admin_site.admin_view(self.queue_view), name="finance_queue"),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "appointment__mentor__user", "appointment__mentee", "raised_by", "replied_by"
        )

    # ---- the queue ----

    def queue_view(self, request):
        """Sessions awaiting Finance and open tickets, each oldest first (reachable by Finance and staff)."""
        queue = finance_queue()
        context = {
            **self.admin_site.each_context(request),
            "title": "Finance queue",
            "subtitle": None,
            "opts": self.opts,
            "queue": queue,
        }
        return TemplateResponse(request, "admin/invoicing/finance_queue.html", context)

    # ---- the ticket ----

    def get_fieldsets(self, request, obj=None):
        ticket = (None, {"fields": ("subject", "kind", "session_detail", "mentor", "mentee", "raised_by", "raised_at",
                                    "message", "status")})
        # A POST always carries the reply box, so a reply sent from a page opened while the ticket was open
        # reaches the service, which says who answered it meanwhile.
        if obj is not None and (obj.status == Open or request.method == "POST"):
            return (ticket, ("Reply", {"fields": ("answer",)}))
        return (ticket, ("Reply", {"fields": ("reply", "replied_by", "replied_at")}))

    @admin.display(description="session", ordering="appointment__reference")
    def session(self, ticket):
        if ticket.appointment is None:
            return "-"
        appointment = ticket.appointment
        return format_html("{} ({})", _appointment_admin_link(appointment), appointment.get_status_display())

    @admin.display(description="session")
    def session_detail(self, ticket):
        """On the ticket's page: the session, and where to complete it when it is waiting for Finance."""
        appointment = ticket.appointment
        if appointment is None or not (
            appointment.status == ServiceAppointment.Status.AWAITING_FINANCE and ticket.status == Open
        ):
            return self.session(ticket)
        return render_to_string("admin/invoicing/includes/ticket_complete_wrap_up.html",
                                {"session": self.session(ticket), "appointment": appointment})

    @admin.display(description="mentor")
    def mentor(self, ticket):
        return ticket.appointment.mentor if ticket.appointment else "-"

    @admin.display(description="mentee")
    def mentee(self, ticket):
        return ticket.appointment.mentee if ticket.appointment else "-"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["ticket_is_open"] = obj is not None and obj.status == Open
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _ReplyRefused as refused:
            for message in refused.messages:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        # The ticket's own fields are read-only: the only change is the reply, written by the service.
        try:
            ticket_reply(ticket_id=obj.pk, acting_user=request.user, reply=form.cleaned_data.get("answer", ""))
        except ValidationError as error:
            raise _ReplyRefused(error) from error

    def construct_change_message(self, request, form, formsets, add=False):
        return "Answered and closed."

    def response_change(self, request, obj):
        obj.refresh_from_db()
        self.message_user(
            request,
            f"Ticket {obj.pk} is answered and closed. {obj.raised_by}, who raised it, can see your reply.",
            messages.SUCCESS,
        )
        if "_continue" in request.POST:
            return HttpResponseRedirect(request.get_full_path())
        return self.response_post_save_change(request, obj)
