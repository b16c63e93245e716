"""What every request and response goes through for security: the Content-Security-Policy header, and the
pieces django-axes (the lock-out after repeated failed log-ins) is configured with in settings.

- `ContentSecurityPolicyMiddleware` puts `settings.CONTENT_SECURITY_POLICY` on every response that has no policy of
  its own; `settings.CONTENT_SECURITY_POLICY_BY_PATH` changes directives under a path prefix (the admin's inline
  styles).
- `AxesLockoutBackend` is django-axes' `AxesStandaloneBackend` for `AUTHENTICATION_BACKENDS`.
- `axes_username` is `AXES_USERNAME_CALLABLE`: the email address a log-in was tried with, as the account is found.
- `lockout_response` is `AXES_LOCKOUT_CALLABLE`: the log-in page again, saying why and for how long.
"""

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.urls import reverse

LOCKOUT_MESSAGE = (
    "Too many failed log-ins for this account. Try again in an hour, or ask Senior Leadership to unlock it."
)


# --------------------------------------------------------------------------- Content-Security-Policy


def content_security_policy(path: str) -> str:
    """The policy for a response to `path`: the project's, with the directives its path prefix changes."""
    directives = dict(settings.CONTENT_SECURITY_POLICY)
    for prefix, changes in getattr(settings, "CONTENT_SECURITY_POLICY_BY_PATH", {}).items():
        if path.startswith(prefix):
            directives.update(changes)
    return "; ".join(f"{name} {' '.join(sources)}".strip() for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy header to every response (a view may set its own instead)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = content_security_policy(request.path)
        return response


# --------------------------------------------------------------------------- django-axes


class AxesLockoutBackend(AxesStandaloneBackend):
    """django-axes' backend: refuses a locked-out email address and IP before any password is checked.

    Both log-in pages (ours and the admin's) pass the request to `authenticate()`, so every attempt made over HTTP
    is counted. A call without a request (Django's test client `login()`, code in a shell) comes from no address
    and is not a log-in attempt from the web: this backend lets it through to the next backend, where
    `AxesStandaloneBackend` would raise `AxesBackendRequestParameterRequired`.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def axes_username(request, credentials=None) -> str | None:
    """The address a log-in was tried with, lower-cased: accounts are found case-insensitively
    (`User.objects.get_by_natural_key`), so "Ann@Example.com" and "ann@example.com" share one count."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = getattr(request, "data", request.POST).get("username")
    return username.strip().lower() if isinstance(username, str) else username


def lockout_response(request, original_response=None, credentials=None):
    """The log-in page the attempt came from (ours or the admin's), refusing it with LOCKOUT_MESSAGE (HTTP 429)."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    username = axes_username(request, credentials) or ""
    if request.path == reverse("admin:login"):
        messages.error(request, LOCKOUT_MESSAGE)
        context = {
            **admin.site.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "form": AdminAuthenticationForm(request, initial={"username": username}),
            "username": request.user.get_username(),
            "next": request.POST.get("next", reverse("admin:index")),
        }
        return render(request, "admin/login.html", context, status=status)
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "next": request.POST.get("next", ""),
        "lockout_message": LOCKOUT_MESSAGE,
    }
    return render(request, "registration/login.html", context, status=status)
