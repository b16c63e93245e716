"""Senior Leadership are told when a mentor asks them to wrap up sessions."""

import hashlib
import json

from django.urls import reverse

from notifications.models import OutboxEmail
from sessions_app import roles
from sessions_app.models import User, WrapUpRequest

from .alerts import render_email
from .outbox import outbox_enqueue


def leadership_addresses() -> list[str]:
    return list(User.objects.filter(groups__name=roles.SENIOR_LEADERSHIP, is_active=True).values_list("email", flat=True))


def wrap_up_request_queue(*, request: WrapUpRequest) -> OutboxEmail | None:
    """One email to Senior Leadership with the mentor's sessions, what happened in each and their message. Sending
    the same request again queues nothing more; changing it (other sessions, statuses or message) tells them again."""
    request = WrapUpRequest.objects.select_related("mentor__user").get(pk=request.pk)
    items = list(request.items.select_related("appointment__mentee").order_by("appointment__starts_at", "pk"))
    content = json.dumps([[[item.appointment_id, item.outcome] for item in items], request.message])
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    mentor_name = request.mentor.user.full_name
    count = len(items)
    text, html = render_email("wrap_up_request", {
        "request": request, "mentor_name": mentor_name, "items": items,
        "list_url": reverse("mentor-wrap-up", args=[request.mentor_id]),
    })
    return outbox_enqueue(
        key=f"wrap-up-request:{request.pk}:{digest}", kind=OutboxEmail.Kind.WRAP_UP_REQUEST, to=leadership_addresses(),
        subject=f"{mentor_name} asks you to wrap up {count} session{'s' if count != 1 else ''}",
        text_body=text, html_body=html,
    )
