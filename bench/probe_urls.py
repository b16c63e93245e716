"""The project's URLs plus three probes that measure what every logged-in page pays before it does any work:
loading the session; the session and the user (`login_required`); and those with the user's roles, as every page's
navigation asks for them (`sessions_app.context_processors.roles`)."""

import json

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from mentoring.urls import urlpatterns as project_urlpatterns
from sessions_app.context_processors import roles


def session_only(request):
    return HttpResponse(str(request.session.get(SESSION_KEY)), content_type="text/plain")


@login_required
def logged_in(request):
    return HttpResponse(request.user.email, content_type="text/plain")


@login_required
def with_roles(request):
    return HttpResponse(json.dumps(roles(request)), content_type="text/plain")


urlpatterns = [
    path("bench/session", session_only),
    path("bench/logged-in", logged_in),
    path("bench/roles", with_roles),
    *project_urlpatterns,
]
