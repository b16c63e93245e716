from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from sessions_app import selectors
from sessions_app.views.params import mentor_param, month_param


@login_required
def home(request):
    return render(request, "sessions_app/home.html", {"page": selectors.homepage_for(request.user)})


@login_required
def dashboard(request):
    year, month = month_param(request)
    mentor_id = mentor_param(request)
    board = selectors.dashboard_for(request.user, year, month, mentor_id=mentor_id)
    return render(
        request,
        "sessions_app/dashboard.html",
        {
            "board": board,
            "mentor_id": mentor_id,
            "mentors": selectors.mentors_for_filter(request.user),
        },
    )
