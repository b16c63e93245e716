"""Finance's weekly email of funding arrangements to renew: hours nearly used up, or ending within 30 days."""

from datetime import date

from django.utils import timezone

from notifications.models import OutboxEmail
from sessions_app.allowance import arrangements_to_renew, warning_threshold

from .alerts import finance_addresses, render_email
from .outbox import outbox_enqueue

ENDING_WITHIN_DAYS = 30


def authorised_hours_digest_send(*, today: date | None = None) -> int:
    """Queue the week's email to Finance, when there is anything to say. The outbox key is the ISO week, so however
    often the job runs in a week, the email is queued once. Returns how many were queued (0 or 1)."""
    today = today or timezone.localdate()
    rows = arrangements_to_renew(today=today, days=ENDING_WITHIN_DAYS)
    if not rows:
        return 0
    year, week, _ = today.isocalendar()
    count = len(rows)
    text, html = render_email("authorised_hours", {
        "rows": rows, "today": today, "threshold": warning_threshold(), "days": ENDING_WITHIN_DAYS,
    })
    email = outbox_enqueue(
        key=f"authorised-hours:{year}-W{week:02d}", kind=OutboxEmail.Kind.AUTHORISED_HOURS, to=finance_addresses(),
        subject=f"{count} funding arrangement{'s' if count != 1 else ''} to renew: hours nearly used up or "
                f"ending within {ENDING_WITHIN_DAYS} days",
        text_body=text, html_body=html,
    )
    return int(email is not None)
