"""Senior Leadership wrap up a mentor's sessions from one list; mentors ask them to, from their homepage.
Senior Leadership (and Finance) unlock an account locked out after failed log-ins."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from sessions_app import selectors
from sessions_app.exceptions import AccountNotLockedOut
from sessions_app.forms.accounts import UnlockForm
from sessions_app.forms.bulk import BulkWrapUpForm, WrapUpRequestForm, posted_ids
from sessions_app.models import Mentor
from sessions_app.services import (
    StatusChoice,
    account_unlock,
    appointments_wrap_up_for_mentor,
    locked_out_accounts,
    wrap_up_request_submit,
)


def _mentor_for_leadership(request, mentor_id) -> Mentor:
    if not request.user.acts_for_mentors:
        raise Http404("There is no such page.")
    return get_object_or_404(Mentor.objects.select_related("user"), pk=mentor_id)


def _as_choice(item) -> StatusChoice:
    """What the mentor's request said about a session, to start the form from."""
    return StatusChoice(item.appointment_id, item.outcome, "", item.cancellation_reason, item.cancellation_note)


def _result_key(mentor: Mentor) -> str:
    return f"mentor-wrap-up-result-{mentor.pk}"


@login_required
@require_http_methods(["GET", "POST"])
def mentor_wrap_up(request, mentor_id):
    """Every session of one mentor still to wrap up, each with a status to set; submitted together."""
    mentor = _mentor_for_leadership(request, mentor_id)
    page = selectors.mentor_wrap_up_list(mentor)
    appointments = [row.appointment for row in page.rows]
    form = BulkWrapUpForm(
        request.POST if request.method == "POST" else None,
        appointments=appointments,
        extra_ids=posted_ids(request.POST) if request.method == "POST" else (),
        initial_outcomes={row.appointment.pk: _as_choice(row.requested) for row in page.rows if row.requested},
    )
    if request.method == "POST" and form.is_valid():
        result = appointments_wrap_up_for_mentor(mentor=mentor, acting_user=request.user, choices=form.chosen())
        request.session[_result_key(mentor)] = {
            "rows": [
                {"reference": row.reference, "result": row.result, "summary": row.summary,
                 "url": reverse("appointment-detail", args=[row.reference]) if row.reference.startswith("SA-") else ""}
                for row in result.rows
            ],
            "changed": result.changed,
            "request_done": result.request_done is not None,
        }
        return redirect("mentor-wrap-up-result", mentor_id=mentor.pk)
    return render(
        request,
        "sessions_app/mentor_wrap_up.html",
        {"mentor": mentor, "page": page, "form": form, "rows": form.bound_rows(page.rows, lambda row: row.appointment)},
    )


@login_required
def mentor_wrap_up_result(request, mentor_id):
    """What happened to each session of the batch just submitted."""
    mentor = _mentor_for_leadership(request, mentor_id)
    result = request.session.get(_result_key(mentor))
    if result is None:
        return redirect("mentor-wrap-up", mentor_id=mentor.pk)
    return render(request, "sessions_app/mentor_wrap_up_result.html", {"mentor": mentor, "result": result})


@login_required
@require_http_methods(["GET", "POST"])
def wrap_up_request(request):
    """A mentor who cannot wrap up tells Senior Leadership the status of each session."""
    mentor = get_object_or_404(Mentor.objects.select_related("user"), user=request.user)
    appointments = selectors.mentor_sessions_to_wrap_up(mentor)
    current = selectors.open_wrap_up_request(mentor)
    initial_outcomes = {item.appointment_id: _as_choice(item) for item in current.items} if current else {}
    form = WrapUpRequestForm(
        request.POST if request.method == "POST" else None,
        appointments=appointments,
        extra_ids=posted_ids(request.POST) if request.method == "POST" else (),
        initial_outcomes=initial_outcomes,
        initial={"message": current.request.message} if current else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            wrap_up_request_submit(
                mentor=mentor,
                acting_user=request.user,
                items=form.chosen(),
                message=form.cleaned_data["message"],
            )
        except ValidationError as problem:
            for message in problem.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                "Your request is with Senior Leadership. They will wrap up those sessions for you; "
                "your homepage shows when it has been done.",
            )
            return redirect("home")
    return render(
        request,
        "sessions_app/wrap_up_request.html",
        {"mentor": mentor, "form": form, "rows": form.bound_rows(appointments), "current": current},
    )


# --------------------------------------------------------------------------- locked-out accounts


def _for_unlockers(request):
    if not request.user.unlocks_accounts:
        raise Http404("There is no such page.")


@login_required
@require_safe
def locked_out_accounts_list(request):
    """Every email address locked out now, each with an Unlock button."""
    _for_unlockers(request)
    return render(request, "sessions_app/locked_out_accounts.html", {"accounts": locked_out_accounts()})


@login_required
@require_POST
def unlock_account(request):
    _for_unlockers(request)
    form = UnlockForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was unlocked: choose the address to unlock from the list.")
    else:
        try:
            account = account_unlock(email=form.cleaned_data["email"], acting_user=request.user)
        except AccountNotLockedOut as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, f"{account.email} can log in again.")
    return redirect("locked-out-accounts")
