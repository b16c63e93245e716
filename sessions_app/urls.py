from django.urls import path

from sessions_app.views import appointments, calendar, pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("calendar/", calendar.month, name="calendar"),
    path("calendar/<int:year>/<int:month>/", calendar.month, name="calendar-month"),
    path("calendar/feed/<str:token>.ics", calendar.feed, name="calendar-feed"),
    path("calendar/feed/new-address/", calendar.feed_new_address, name="calendar-feed-new-address"),
    path("appointments/<str:reference>/", appointments.detail, name="appointment-detail"),
    path("appointments/<str:reference>/wrap-up/", appointments.wrap_up, name="appointment-wrap-up"),
    path("appointments/<str:reference>/cancel/", appointments.cancel, name="appointment-cancel"),
]
