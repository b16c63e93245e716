"""Celery tasks: thin and idempotent."""

from celery import shared_task


@shared_task(ignore_result=True)
def apply_retention() -> str:
    from privacy.services import retention_apply

    return str(retention_apply())
