"""Celery tasks: thin, idempotent, given ids. Each calls one service."""

from datetime import date

from celery import shared_task

from notifications.services import (
    authorised_hours_digest_send, leadership_summary_send, outbox_deliver, outbox_sweep, wrap_up_reminders_send,
)
from notifications.services.scheduling import session_reminders_send
from notifications.services.sign_off import sign_off_reminders_send


@shared_task(ignore_result=True)
def send_outbox_email(email_id: int) -> bool:
    return outbox_deliver(email_id=email_id)


@shared_task(ignore_result=True)
def sweep_outbox() -> int:
    return outbox_sweep()


@shared_task(ignore_result=True)
def send_wrap_up_reminders(day: str | None = None) -> int:
    return wrap_up_reminders_send(today=date.fromisoformat(day) if day else None)


@shared_task(ignore_result=True)
def send_leadership_summary(day: str | None = None) -> int:
    return leadership_summary_send(today=date.fromisoformat(day) if day else None)


@shared_task(ignore_result=True)
def send_authorised_hours_digest(day: str | None = None) -> int:
    return authorised_hours_digest_send(today=date.fromisoformat(day) if day else None)


@shared_task(ignore_result=True)
def send_session_reminders() -> int:
    return session_reminders_send()


@shared_task(ignore_result=True)
def send_sign_off_reminders(day: str | None = None) -> int:
    return sign_off_reminders_send(today=date.fromisoformat(day) if day else None)
