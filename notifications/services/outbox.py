"""The outbox: emails are rows written with the change that caused them, and sent after commit."""

import logging
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from notifications import hooks
from notifications.models import OutboxEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# Seconds to wait after the nth failure before trying again.
BACKOFF = [60, 5 * 60, 15 * 60, 60 * 60, 3 * 60 * 60, 6 * 60 * 60, 12 * 60 * 60]
SWEEP_BATCH = 500


def outbox_enqueue(*, key: str, kind: str, to: list[str], subject: str, text_body: str, html_body: str = "",
                   appointment=None, attachments: list[dict] | None = None,
                   hold_until=None) -> OutboxEmail | None:
    """Queue an email in the caller's transaction and send it once that commits.

    `attachments` are files already in Django's default storage, read when the email is sent:
    [{"name": "INV-2026-000001.pdf", "path": "invoices/2026/INV-2026-000001.pdf", "mimetype": "application/pdf"}],
    or small text files kept in the row itself: [{"name": "session.ics", "content": "BEGIN:VCALENDAR...",
    "mimetype": "text/calendar; method=REQUEST"}] (calendar invitations).

    `hold_until`: the email waits in the outbox until then (no worker is given it; the sweeper sends it once that time
    has come), so that what happens next can still change it (`outbox_rewrite`): a cancellation that may be rebooked.

    Returns None, and queues nothing, when an email with this key exists already or there is nobody to send to."""
    recipients = sorted({address.strip() for address in to if address and address.strip()})
    if not recipients:
        logger.info("Not queueing %s: no recipient address", key)
        return None
    with transaction.atomic():
        email, created = OutboxEmail.objects.get_or_create(
            key=key,
            defaults=dict(kind=kind, to=recipients, subject=subject, text_body=text_body, html_body=html_body,
                          appointment=appointment, attachments=_checked(attachments or []),
                          next_attempt_at=hold_until or timezone.now() + _sweep_grace()),
        )
    if not created:
        return None
    if hold_until is None:
        transaction.on_commit(lambda: _dispatch(email.pk))
    return email


def outbox_rewrite(*, email_id: int, subject: str, text_body: str, html_body: str,
                   attachments: list[dict]) -> OutboxEmail | None:
    """Change an email that is still waiting (one held with `hold_until`) and send it now, after commit. None when it
    has gone already (or is being sent: its row is locked until then, and then it has gone)."""
    email = OutboxEmail.objects.select_for_update().filter(pk=email_id, status=OutboxEmail.Status.PENDING).first()
    if email is None:
        return None
    email.subject, email.text_body, email.html_body = subject, text_body, html_body
    email.attachments = _checked(attachments)
    email.next_attempt_at = timezone.now() + _sweep_grace()
    email.save(update_fields=["subject", "text_body", "html_body", "attachments", "next_attempt_at"])
    transaction.on_commit(lambda: _dispatch(email.pk))
    return email


def outbox_attachments_withdraw(paths) -> int:
    """Files about to leave storage (a person's erasure, the retention job) come off the emails still waiting to
    go, which then go without them instead of failing at every attempt. Emails being sent hold their row until they
    have gone, and are left as they are. How many emails changed."""
    paths = set(paths)
    changed = 0
    for email in OutboxEmail.objects.select_for_update().filter(status=OutboxEmail.Status.PENDING).exclude(
            attachments=[]).only("pk", "attachments"):
        kept = [attachment for attachment in email.attachments if attachment.get("path") not in paths]
        if len(kept) < len(email.attachments):
            email.attachments = kept
            email.save(update_fields=["attachments"])
            changed += 1
    return changed


def _checked(attachments: list[dict]) -> list[dict]:
    checked = []
    for attachment in attachments:
        if attachment.get("name") and isinstance(attachment.get("content"), str) and not attachment.get("path"):
            checked.append({"name": attachment["name"], "content": attachment["content"],
                            "mimetype": attachment.get("mimetype") or "text/plain"})
            continue
        if not attachment.get("name") or not attachment.get("path"):
            raise ValueError(f"An attachment needs a name and a storage path: {attachment!r}")
        checked.append({"name": attachment["name"], "path": attachment["path"],
                        "mimetype": attachment.get("mimetype") or "application/octet-stream"})
    return checked


def _attach_files(message: EmailMultiAlternatives, attachments: list[dict]) -> None:
    """Read each attachment from storage as the email goes; a missing file fails the send, which is retried."""
    for attachment in attachments:
        if "content" in attachment:
            message.attach(attachment["name"], attachment["content"], attachment["mimetype"])
            continue
        with default_storage.open(attachment["path"], "rb") as file:
            message.attach(attachment["name"], file.read(), attachment["mimetype"])


def _one_line(value: str) -> str:
    """A header is one line: a line break in a subject or address (a row written before the forms refused them)
    would make Django refuse the email (BadHeaderError) at every attempt, so it becomes a space."""
    return " ".join(part.strip() for part in str(value).splitlines() if part.strip())


def _reply_to() -> list[str]:
    """Our emails come from a no-reply address and say "reply to this email": replies go to the organisation's
    accounts email (its details in the Finance admin), or else to REPLY_TO_EMAIL."""
    address = _one_line(hooks.accounts_email() or settings.REPLY_TO_EMAIL)
    return [address] if address else []


def _message(email: OutboxEmail) -> EmailMultiAlternatives:
    return EmailMultiAlternatives(
        subject=_one_line(email.subject), body=email.text_body, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[_one_line(address) for address in email.to], reply_to=_reply_to(),
        headers={"Message-ID": make_msgid(domain=settings.EMAIL_DOMAIN)},
    )


def _sweep_grace() -> timedelta:
    """A new email is the worker's to send; the sweeper only steps in if it is still unsent after this."""
    return timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)


def _dispatch(email_id: int) -> None:
    """Hand the email to a worker. If the broker is down, the wrap-up still stands: the sweeper sends it later."""
    from notifications.tasks import send_outbox_email

    try:
        send_outbox_email.apply_async(args=[email_id], retry=False)
    except Exception:  # the broker is unreachable; the row waits for the sweeper
        logger.warning("Could not queue outbox email %s; the sweeper will send it", email_id, exc_info=True)


def outbox_deliver(*, email_id: int, now=None) -> bool:
    """Send one email if it is still waiting. True when this call sent it.

    The row stays locked while it is sent, so two workers given the same email send it once."""
    with transaction.atomic():
        email = OutboxEmail.objects.select_for_update(skip_locked=True).filter(pk=email_id).first()
        if email is None or email.status != OutboxEmail.Status.PENDING:
            return False
        now = now or timezone.now()
        email.attempts += 1
        try:
            message = _message(email)
            if email.html_body:
                message.attach_alternative(email.html_body, "text/html")
            _attach_files(message, email.attachments)
            message.send()
        except Exception as error:
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            if email.attempts >= MAX_ATTEMPTS:
                email.status = OutboxEmail.Status.FAILED
            else:
                email.next_attempt_at = now + timedelta(seconds=BACKOFF[min(email.attempts, len(BACKOFF)) - 1])
            email.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
            logger.warning("Outbox email %s failed (attempt %s): %s", email.pk, email.attempts, email.last_error)
            return False
        email.status = OutboxEmail.Status.SENT
        email.sent_at = now
        email.last_error = ""
        email.save(update_fields=["attempts", "status", "sent_at", "last_error"])
        return True


def outbox_sweep(*, now=None) -> int:
    """Send what is still waiting and due (the broker was down, a worker died, a send failed). Returns how many sent."""
    now = now or timezone.now()
    due = OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
    sent = 0
    for email_id in due.order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_BATCH]:
        sent += outbox_deliver(email_id=email_id, now=now)
    return sent


@transaction.atomic
def outbox_resend(*, email_ids: list[int]) -> int:
    """Finance asks for emails to go (again): back to waiting, sent after commit."""
    emails = list(OutboxEmail.objects.select_for_update().filter(pk__in=email_ids))
    for email in emails:
        email.status = OutboxEmail.Status.PENDING
        email.attempts = 0
        email.last_error = ""
        email.sent_at = None
        email.next_attempt_at = timezone.now() + _sweep_grace()
        email.save(update_fields=["status", "attempts", "last_error", "sent_at", "next_attempt_at"])
        transaction.on_commit(lambda pk=email.pk: _dispatch(pk))
    return len(emails)
