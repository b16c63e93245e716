"""The project's URLs plus probes that measure what every logged-in page pays before its own work: loading the
session; the session and the user (`login_required`); those with the user's roles, as every page's navigation asks
for them (`sessions_app.context_processors.roles`); and the logged-in floor, a page doing the least a real page does.
Served only by the benchmarks' servers (bench/probe_settings.py)."""

import json

from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_required
from django.db.models import Subquery
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path

from mentoring.urls import urlpatterns as project_urlpatterns
from sessions_app.context_processors import roles
from sessions_app.models import Mentor, ServiceAppointment

FLOOR_ROWS = 25


def session_only(request):
    return HttpResponse(str(request.session.get(SESSION_KEY)), content_type="text/plain")


@login_required
def logged_in(request):
    return HttpResponse(request.user.email, content_type="text/plain")


@login_required
def with_roles(request):
    return HttpResponse(json.dumps(roles(request)), content_type="text/plain")


@login_required
def floor(request):
    """The logged-in floor: the session and the user loaded as on every page, then 25 rows from one query on an
    index (the user's latest sessions: a mentor's by (mentor, starts_at), the mentor's id a subquery PostgreSQL runs
    first; Senior Leadership's, everyone's, by starts_at) rendered by a template through the project's own template
    settings and context processors (the navigation's roles)."""
    appointments = ServiceAppointment.objects.all()
    if not request.user.sees_all_appointments:
        appointments = appointments.filter(
            mentor_id=Subquery(Mentor.objects.filter(user=request.user).values("pk")[:1]))
    rows = (appointments.order_by("-starts_at")
            .values("reference", "starts_at", "status", "mentee__full_name")[:FLOOR_ROWS])
    return render(request, "bench/floor.html", {"rows": rows})


urlpatterns = [
    path("bench/session", session_only),
    path("bench/logged-in", logged_in),
    path("bench/roles", with_roles),
    path("bench/floor", floor),
    *project_urlpatterns,
]
