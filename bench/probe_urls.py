"""The project's URLs plus two probes that measure what every logged-in page pays before it does any work:
loading the session, and loading the session and the user (`login_required`)."""

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from mentoring.urls import urlpatterns as project_urlpatterns


def session_only(request):
    return HttpResponse(str(request.session.get(SESSION_KEY)), content_type="text/plain")


@login_required
def logged_in(request):
    return HttpResponse(request.user.email, content_type="text/plain")


urlpatterns = [
    path("bench/session", session_only),
    path("bench/logged-in", logged_in),
    *project_urlpatterns,
]
