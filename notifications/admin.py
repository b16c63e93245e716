from django.contrib import admin, messages

from notifications.models import OutboxEmail
from notifications.services import outbox_resend


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "kind", "recipients", "status", "attempts", "created_at", "sent_at", "short_error")
    list_filter = ("status", "kind")
    search_fields = ("subject", "key", "appointment__reference", "to")
    date_hierarchy = "created_at"
    list_select_related = ("appointment",)
    actions = ["resend"]
    readonly_fields = [field.name for field in OutboxEmail._meta.fields]
    fields = ("key", "kind", "appointment", "to", "subject", "status", "attempts", "last_error", "created_at",
              "next_attempt_at", "sent_at", "text_body", "html_body")

    @admin.display(description="to")
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.action(description="Send the selected emails (again)", permissions=["change"])
    def resend(self, request, queryset):
        count = outbox_resend(email_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} email{'s' if count != 1 else ''} queued to send.", messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

