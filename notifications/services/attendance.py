from django.utils import timezone

from notifications.attendance import attendance_email
from notifications.models import OutboxEmail
from sessions_app.models import FundingArrangement, ServiceAppointment

from .outbox import outbox_enqueue


def _funders_to_tell(appointment: ServiceAppointment):
    """Funders who ask for attendance emails: the session's funder, or, for a session cancelled before any
    funding was chosen, the funders of the arrangements valid on its date."""
    if appointment.funding_arrangement_id:
        arrangements = [appointment.funding_arrangement]
    else:
        arrangements = (
            FundingArrangement.objects.filter(mentee_id=appointment.mentee_id, kind=FundingArrangement.Kind.FUNDED)
            .valid_on(timezone.localdate(appointment.starts_at))
            .select_related("funder")
        )
    funders = {a.funder.pk: a.funder for a in arrangements if a.funder_id and a.funder.sends_attendance_emails}
    return [funders[pk] for pk in sorted(funders)]


def attendance_emails_queue(*, appointment: ServiceAppointment) -> list[OutboxEmail]:
    """Queue the attendance email to the mentee, and to a funder who asks for them, in the caller's transaction."""
    queued = []
    email = attendance_email(appointment)
    queued.append(outbox_enqueue(
        key=f"attendance-mentee:{appointment.reference}", kind=OutboxEmail.Kind.ATTENDANCE_MENTEE,
        to=[appointment.mentee.email], subject=email.subject, text_body=email.text, html_body=email.html,
        appointment=appointment,
    ))
    funders = _funders_to_tell(appointment)
    if funders:
        # One email per appointment to funders; in the rare case of two funders, both are addressed.
        email = attendance_email(appointment, funder=funders[0])
        queued.append(outbox_enqueue(
            key=f"attendance-funder:{appointment.reference}", kind=OutboxEmail.Kind.ATTENDANCE_FUNDER,
            to=[funder.billing_email for funder in funders], subject=email.subject, text_body=email.text,
            html_body=email.html, appointment=appointment,
        ))
    return [email for email in queued if email is not None]
