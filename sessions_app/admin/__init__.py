"""The Finance back office: people, mentee accounts and funding, and Service Appointments.

Finance gets in through the "Finance" group (see roles.py and migration 0002); what each model
lets them do comes from that group's permissions. The admin writes only what is plain data
(mentees, funders, funding arrangements, cancellation reasons, the schedule of a session still
to take place); anything with a history (booking, wrap-up, cancellation) goes through services.

One module per family of pages, each registering its models when imported (the admin site imports this package):
`people` (users, mentors, mentees), `funding` (funders, funding arrangements), `appointments` (Service
Appointments and the "Complete wrap-up" page, their events, cancellation reasons, the reference counters),
`wrap_up_requests`; `common` holds what they and the invoicing admin share (the audit trail, read-only inlines).
"""

from sessions_app.admin import (  # noqa: F401 (registers)
    appointments, bank_details, common, funding, people, scheduling, wrap_up_requests,
)
