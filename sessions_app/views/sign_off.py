"""The mentee's sign-off page: opened from the personal link in their email, no log-in. GET only shows the session
(mail scanners follow links); the answer is a POST with the CSRF token. A tampered or unknown link, an expired one
or one already used gets a page saying so, and never shows another session."""

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from sessions_app.exceptions import SignOffAlreadyAnswered
from sessions_app.forms.sign_off import SignOffForm
from sessions_app.services import sign_off_answer
from sessions_app.services.sign_off import LinkProblem, answered_message, sign_off_from_token

TEMPLATE = "sessions_app/sign_off.html"


def _private(response):
    # The link is the key: it must not leave in a Referer header. "same-origin", not "no-referrer": with that, the
    # browser sends the form's POST with "Origin: null", and Django's CSRF check refuses it.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def sign_off(request, token):
    sign_off, problem = sign_off_from_token(token)
    if problem is not None:
        status = 410 if problem == LinkProblem.EXPIRED else 404
        return _private(render(request, TEMPLATE, {"problem": problem}, status=status))
    appointment = sign_off.appointment
    context = {"sign_off": sign_off, "appointment": appointment}
    if not sign_off.is_pending:
        return _private(render(request, TEMPLATE, {**context, "answered": answered_message(sign_off)}))
    form = SignOffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sign_off_answer(sign_off_id=sign_off.pk, link_key=sign_off.link_key,
                            confirmed=form.cleaned_data["answer"] == "confirm", comment=form.cleaned_data["comment"])
        except SignOffAlreadyAnswered:  # answered in another tab meanwhile: the page says how
            pass
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
            return _private(render(request, TEMPLATE, {**context, "form": form}, status=400))
        else:
            return _private(redirect(request.path + "?answered=1"))
        return _private(redirect(request.path))
    status = 400 if request.method == "POST" else 200
    return _private(render(request, TEMPLATE, {**context, "form": form}, status=status))
