"""Whether a session's month is closed by Finance: its invoices and payment statements are final, and a change to
the session reaches them only through a credit note or a later month's documents.

Months are closed in invoicing, the app above this one, which this app does not import: it answers
`sessions_app.hooks.month_lock` (InvoicingConfig.ready). Without it, no month is closed."""

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone
from django.utils.formats import date_format


@dataclass(frozen=True)
class MonthLock:
    month: date  # the closed month's first day
    closed_at: datetime

    @property
    def text(self) -> str:
        return (f"Month closed by Finance on {date_format(timezone.localtime(self.closed_at), 'j F Y')}: "
                f"the {date_format(self.month, 'F Y')} invoices and payment statements are final. A change to this "
                "session goes on a credit note or on a later month's invoice and statement.")
