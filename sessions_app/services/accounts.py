"""Accounts django-axes has locked out after failed log-ins: who is locked out now, and unlocking one.

The lock-out is per email address and IP address (`AXES_LOCKOUT_PARAMETERS`): a pair is locked out while its failed
log-ins since the start of the cool-off period (`AXES_COOLOFF_TIME`, an hour) reach `AXES_FAILURE_LIMIT`. This module
reads axes' own records with the same rule, and unlocks through axes' API (`axes.utils.reset`), which forgets every
failed log-in of the address, from every IP address.

`locked_out_accounts` reads, so by the project's convention it would be in `sessions_app/selectors.py`; it is here,
next to the one service that needs the same rule, to keep the lock-out's rule in one place.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.utils import reset
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import transaction
from django.db.models import Max, Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app.exceptions import AccountNotLockedOut
from sessions_app.models import User

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockedOutAccount:
    email: str  # the address the log-ins were tried with, lower-cased (axes' username)
    user: User | None  # the account with that address, if there is one
    failures: int  # failed log-ins in the cool-off period, from the IP addresses it is locked out at
    last_failure: datetime
    locked_until: datetime | None  # when it opens by itself if nobody tries again; None: only when unlocked

    @property
    def name(self) -> str:
        return self.user.full_name if self.user is not None else ""


def locked_out_accounts(*, emails: list[str] | None = None, now: datetime | None = None) -> list[LockedOutAccount]:
    """The addresses locked out now (or only those of `emails`), the latest failed log-in first."""
    now = now or timezone.now()
    cool_off = get_cool_off()
    attempts = AccessAttempt.objects.filter(username__isnull=False)
    if emails is not None:
        attempts = attempts.filter(username__in=emails)
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=now - cool_off)
    pairs = (
        attempts.order_by().values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"), last_failure=Max("attempt_time"))
        .filter(failures__gte=get_failure_limit(None, None))
    )
    found: dict[str, dict] = {}
    for pair in pairs:
        account = found.setdefault(pair["username"], {"failures": 0, "last_failure": pair["last_failure"]})
        account["failures"] += pair["failures"]
        account["last_failure"] = max(account["last_failure"], pair["last_failure"])
    users = {
        user.email_lower: user
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=list(found))
    }
    accounts = [
        LockedOutAccount(
            email=email, user=users.get(email), failures=account["failures"], last_failure=account["last_failure"],
            locked_until=account["last_failure"] + cool_off if cool_off is not None else None,
        )
        for email, account in found.items()
    ]
    return sorted(accounts, key=lambda account: (account.last_failure, account.email), reverse=True)


@transaction.atomic
def account_unlock(*, email: str, acting_user: User, now: datetime | None = None) -> LockedOutAccount:
    """Lets `email` log in again: forgets its failed log-ins, from every IP address. Who unlocked it goes in the
    account's history in the admin (when the address is an account's) and in the log.

    Raises AccountNotLockedOut when the address is not locked out, for instance when someone else unlocked it first
    or its hour is up."""
    # Locks the address's records, so that of two people unlocking it at once the second is told it is not locked.
    list(AccessAttempt.objects.select_for_update().filter(username=email).values_list("pk", flat=True))
    locked = locked_out_accounts(emails=[email], now=now)
    if not locked:
        raise AccountNotLockedOut(f"{email} is not locked out, so there was nothing to unlock: they can log in.")
    account = locked[0]
    reset(username=email)
    since = date_format(timezone.localtime(account.last_failure), "j F Y, H:i")
    if account.user is not None:
        LogEntry.objects.log_actions(
            user_id=acting_user.pk, queryset=[account.user], action_flag=CHANGE, single_object=True,
            change_message=f"Unlocked after {account.failures} failed log-ins (the last at {since}).",
        )
    logger.info("%s unlocked %s after %d failed log-ins (the last at %s).", acting_user.email, email,
                account.failures, since)
    return account
