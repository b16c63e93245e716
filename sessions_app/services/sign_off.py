"""The mentee's sign-off of a session (sessions_app.models.SessionSignOff): asked for when a session is wrapped up
as one the funder is billed for, answered once by the personal link in the mentee's email, or recorded from paper by
Finance. The link is signed (django.core.signing), names one sign-off and its key, and expires after
SIGN_OFF_LINK_DAYS; it works without a log-in, and only for that session, once."""

import hmac
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from sessions_app import events
from sessions_app.allowance import MISSED, counting_rules
from sessions_app.exceptions import SignOffAlreadyAnswered
from sessions_app.models import AppointmentEvent, FundingArrangement, ServiceAppointment, SessionSignOff, User
from sessions_app.models.sign_off import new_link_key

SALT = "sessions_app.sign-off"
COMMENT_MAX = 2000
TOKEN_MAX = 300  # a link we made is far shorter; anything longer is not one of ours
State, How = SessionSignOff.State, SessionSignOff.How
Outcome = ServiceAppointment.Outcome


def sign_off_needed(appointment: ServiceAppointment) -> bool:
    """A completed session billed to a funder: attended, or missed where the funder's policy bills it."""
    arrangement = appointment.funding_arrangement
    if appointment.status != ServiceAppointment.Status.COMPLETED or arrangement is None:
        return False
    if arrangement.kind != FundingArrangement.Kind.FUNDED:
        return False
    if appointment.outcome == Outcome.ATTENDED:
        return True
    return appointment.outcome in MISSED and counting_rules().counted(arrangement.funder_id, appointment.outcome)


def sign_off_request(*, appointment: ServiceAppointment, now=None) -> SessionSignOff | None:
    """In the wrap-up's transaction: the session's sign-off, waiting for the mentee, when it needs one. The email
    with the link is queued by notifications on the wrap-up's event. A session that has one keeps it."""
    if not sign_off_needed(appointment):
        # Wrapped up again after a reopen as a session no funder pays for (or one going to Finance, asked again once
        # Finance completes it): nothing is waiting for the mentee. The history keeps the row.
        for waiting in SessionSignOff.objects.filter(appointment=appointment, state=State.PENDING):
            waiting.delete()
        return None
    sign_off, _ = SessionSignOff.objects.get_or_create(appointment=appointment,
                                                       defaults={"requested_at": now or timezone.now()})
    return sign_off


# ---------------------------------------------------------------- the link

def sign_off_token(sign_off: SessionSignOff) -> str:
    return signing.dumps([sign_off.pk, sign_off.link_key], salt=SALT)


def sign_off_url(sign_off: SessionSignOff) -> str:
    return settings.SITE_URL + reverse("sign-off", args=[sign_off_token(sign_off)])


class LinkProblem:
    INVALID = "invalid"
    EXPIRED = "expired"


def sign_off_from_token(token: str) -> tuple[SessionSignOff | None, str | None]:
    """(the sign-off, None) for a valid link; (None, LinkProblem) for a tampered, unknown or expired one."""
    if not isinstance(token, str) or len(token) > TOKEN_MAX or "\x00" in token:
        return None, LinkProblem.INVALID
    try:
        payload = signing.loads(token, salt=SALT, max_age=timedelta(days=settings.SIGN_OFF_LINK_DAYS))
    except signing.SignatureExpired:
        return None, LinkProblem.EXPIRED
    except signing.BadSignature:
        return None, LinkProblem.INVALID
    if (not isinstance(payload, list) or len(payload) != 2 or not isinstance(payload[0], int)
            or not isinstance(payload[1], str)):
        return None, LinkProblem.INVALID
    sign_off = (SessionSignOff.objects.select_related("appointment__mentor__user", "appointment__mentee")
                .filter(pk=payload[0]).first())
    if sign_off is None or not hmac.compare_digest(sign_off.link_key, payload[1]):
        return None, LinkProblem.INVALID
    return sign_off, None


def answered_message(sign_off: SessionSignOff) -> str:
    when = date_format(timezone.localtime(sign_off.answered_at), "j F Y")
    verb = "confirmed" if sign_off.state == State.CONFIRMED else "disputed"
    if sign_off.how == How.PAPER:
        return f"This session was {verb} on paper (recorded on {when})."
    return f"This session was {verb} on {when}, by the link in the email."


def sign_off_text(sign_off: SessionSignOff | None) -> str:
    """What the SA page says of the mentee's sign-off ("Confirmed by the mentee on 3 December 2026")."""
    if sign_off is None:
        return ""
    if sign_off.is_pending:
        return f"Waiting for the mentee (asked on {date_format(timezone.localtime(sign_off.requested_at), 'j F Y')})"
    when = date_format(timezone.localtime(sign_off.answered_at), "j F Y")
    paper = " on paper (recorded by Finance)" if sign_off.how == How.PAPER else ""
    if sign_off.state == State.CONFIRMED:
        return f"Confirmed by the mentee on {when}{paper}"
    return f"Disputed by the mentee on {when}{paper}: with Finance"


# ---------------------------------------------------------------- answering

def _clean_comment(comment: str) -> str:
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationError({"comment": f"Keep the comment to {COMMENT_MAX:,} characters or fewer."})
    return comment


def _answer(sign_off: SessionSignOff, *, confirmed: bool, comment: str, how: str, by: User | None, now,
            reason: str = "") -> SessionSignOff:
    sign_off.state = State.CONFIRMED if confirmed else State.DISPUTED
    sign_off.answered_at, sign_off.how, sign_off.comment = now, how, comment
    sign_off.recorded_by, sign_off.reason = by, reason
    sign_off._history_user = by
    sign_off.save()
    appointment = sign_off.appointment
    kind = AppointmentEvent.Kind.SIGNED_OFF if confirmed else AppointmentEvent.Kind.SIGN_OFF_DISPUTED
    description = "By the link in the email" if how == How.LINK else f"On paper, recorded by Finance: {reason}"
    if comment:
        description += f". The mentee's comment: {comment}"
    AppointmentEvent.objects.create(appointment=appointment, kind=kind, occurred_at=now, actor=by,
                                    description=description)
    events.sign_off_answered.send(sender=SessionSignOff, appointment=appointment, sign_off=sign_off,
                                  acting_user=by)
    return sign_off


@transaction.atomic
def sign_off_answer(*, sign_off_id: int, link_key: str, confirmed: bool, comment: str = "",
                    now=None) -> SessionSignOff:
    """The mentee's answer by the link: once. A dispute goes to Finance (invoicing's handler raises a ticket)."""
    now = now or timezone.now()
    sign_off = SessionSignOff.objects.select_for_update().select_related("appointment__mentor__user").get(
        pk=sign_off_id)
    if not hmac.compare_digest(sign_off.link_key, link_key):
        raise SignOffAlreadyAnswered("This link is no longer valid.")
    if not sign_off.is_pending:
        raise SignOffAlreadyAnswered(answered_message(sign_off))
    return _answer(sign_off, confirmed=confirmed, comment=_clean_comment(comment), how=How.LINK, by=None, now=now)


@transaction.atomic
def sign_off_record_paper(*, appointment_id: int, acting_user: User, confirmed: bool, reason: str,
                          comment: str = "", now=None) -> SessionSignOff:
    """Finance records a sign-off the mentee gave on paper (a signed timesheet), with the reason; the history keeps
    who and why. A session already confirmed is refused; one waiting or disputed takes the paper answer, and the
    links already sent stop working."""
    if not acting_user.has_perm("sessions_app.record_paper_sign_off"):
        raise PermissionDenied("Only Finance can record a sign-off received on paper.")
    now = now or timezone.now()
    appointment = ServiceAppointment.objects.select_for_update().select_related("mentor__user").get(
        pk=appointment_id)
    errors = {}
    if not reason.strip():
        errors["reason"] = "Say why you are recording it by hand (for example, “signed timesheet received by post”)."
    if appointment.status != ServiceAppointment.Status.COMPLETED:
        errors[None] = f"{appointment.reference} is not wrapped up (completed): there is nothing to sign off yet."
    try:
        comment = _clean_comment(comment)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError({key or "__all__": value for key, value in errors.items()})
    sign_off, _ = SessionSignOff.objects.select_for_update().get_or_create(
        appointment=appointment, defaults={"requested_at": now})
    if sign_off.state == State.CONFIRMED:
        raise SignOffAlreadyAnswered(answered_message(sign_off))
    sign_off.link_key = new_link_key()
    return _answer(sign_off, confirmed=confirmed, comment=comment, how=How.PAPER, by=acting_user, now=now,
                   reason=reason.strip())


def sign_off_reset(*, appointment_id: int, acting_user: User | None, now=None,
                   why: str = "The session was reopened") -> None:
    """A reopened session is to be wrapped up again, or a correction changed what the mentee was asked about: what
    they confirmed or disputed may no longer hold. Its sign-off waits for the mentee again, asked anew (the
    reminders bring a fresh link); the links sent before stop working; the history keeps the earlier answer."""
    sign_off = SessionSignOff.objects.select_for_update().filter(appointment_id=appointment_id).first()
    if sign_off is None:
        return
    sign_off.state, sign_off.answered_at, sign_off.how, sign_off.comment = State.PENDING, None, "", ""
    sign_off.recorded_by, sign_off.reason, sign_off.link_key = None, "", new_link_key()
    sign_off.requested_at = now or timezone.now()
    sign_off.first_reminder_at = sign_off.month_end_reminder_at = None
    sign_off._history_user = acting_user
    sign_off._change_reason = why
    sign_off.save()


def sign_off_reminded(*, sign_off_id: int, month_end: bool, now=None) -> bool:
    """Mark a reminder sent (the first, or the month-end one, which also counts as the first). False when it was
    already marked, or the mentee has answered meanwhile: then no reminder goes."""
    now = now or timezone.now()
    rows = SessionSignOff.objects.filter(pk=sign_off_id, state=State.PENDING)
    if month_end:
        changed = rows.filter(month_end_reminder_at__isnull=True).update(month_end_reminder_at=now)
        rows.filter(first_reminder_at__isnull=True).update(first_reminder_at=now)
        return bool(changed)
    return bool(rows.filter(first_reminder_at__isnull=True).update(first_reminder_at=now))
