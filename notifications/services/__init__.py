from .allowance import authorised_hours_digest_send
from .alerts import finance_alert_queue, ticket_reply_queue
from .attendance import attendance_emails_queue, funder_emails_settle
from .corrections import wrap_up_correction_queue, wrap_up_reopened_queue
from .documents import (
    credit_note_email_queue, invoice_email_queue, remittance_advice_queue, statement_email_queue,
)
from .outbox import (
    outbox_attachments_withdraw, outbox_deliver, outbox_enqueue, outbox_resend, outbox_rewrite, outbox_sweep,
)
from .reminders import leadership_summary_send, wrap_up_reminders_send
from .requests import wrap_up_request_queue

__all__ = [
    "authorised_hours_digest_send",
    "attendance_emails_queue",
    "credit_note_email_queue",
    "finance_alert_queue",
    "funder_emails_settle",
    "invoice_email_queue",
    "leadership_summary_send",
    "outbox_attachments_withdraw",
    "outbox_deliver",
    "outbox_enqueue",
    "outbox_resend",
    "outbox_rewrite",
    "outbox_sweep",
    "remittance_advice_queue",
    "statement_email_queue",
    "ticket_reply_queue",
    "wrap_up_reminders_send",
    "wrap_up_request_queue",
    "wrap_up_correction_queue",
    "wrap_up_reopened_queue",
]
