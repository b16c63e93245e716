from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from sessions_app import selectors
from sessions_app.calendar_feed import feed_for
from sessions_app.models import Mentor
from sessions_app.services import mentor_regenerate_calendar_token
from sessions_app.views.params import mentor_param, valid_month


@login_required
def month(request, year=None, month=None):
    if year is None:
        today = timezone.localdate()
        year, month = today.year, today.month
    if not valid_month(year, month):
        raise Http404("There is no such month.")
    mentor_id = mentor_param(request)
    grid = selectors.calendar_month(request.user, year, month, mentor_id=mentor_id)
    own_mentor = Mentor.objects.filter(user=request.user).only("calendar_token").first()
    feed_url = (
        request.build_absolute_uri(f"/calendar/feed/{own_mentor.calendar_token}.ics") if own_mentor else None
    )
    return render(
        request,
        "sessions_app/calendar.html",
        {
            "grid": grid,
            "mentor_id": mentor_id,
            "mentors": selectors.mentors_for_filter(request.user),
            "feed_url": feed_url,
            # Each day from today on links to Book a session on that date (issue 17).
            "book_url": reverse("session-book"),
            "today": timezone.localdate(),
        },
    )


def feed(request, token):
    """The mentor's private iCalendar feed. No log-in: the secret address is the key."""
    if "\x00" in token:  # PostgreSQL refuses NUL in a query: no feed has such an address
        raise Http404("There is no calendar feed at this address.")
    # A mentor switched off, or whose account is (they have left), has no feed: the address stops working.
    mentor = get_object_or_404(Mentor.objects.select_related("user"), calendar_token=token, is_active=True,
                               user__is_active=True)
    appointments = selectors.appointments_for_feed(
        mentor, days_back=settings.CALENDAR_FEED_DAYS_BACK, days_ahead=settings.CALENDAR_FEED_DAYS_AHEAD
    )
    body = feed_for(mentor, appointments, base_url=request.build_absolute_uri("/").rstrip("/"))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="mentoring-sessions.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_POST
def feed_new_address(request):
    mentor = get_object_or_404(Mentor, user=request.user)
    mentor_regenerate_calendar_token(mentor=mentor)
    messages.success(request, "Your calendar feed has a new address. The old address no longer works.")
    return redirect("calendar")
