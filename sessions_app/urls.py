from django.urls import path

from sessions_app.views import (
    appointments, booking, calendar, corrections, leadership, mentees, my_details, pages, sign_off,
)
from sessions_app.views.cancel import CancelWizard
from sessions_app.views.wrap_up import WrapUpWizard

urlpatterns = [
    path("", pages.home, name="home"),
    path("dashboard/", pages.dashboard, name="dashboard"),
    path("calendar/", calendar.month, name="calendar"),
    path("calendar/<int:year>/<int:month>/", calendar.month, name="calendar-month"),
    path("calendar/feed/<str:token>.ics", calendar.feed, name="calendar-feed"),
    path("calendar/feed/new-address/", calendar.feed_new_address, name="calendar-feed-new-address"),
    path("sessions/book/", booking.book, name="session-book"),
    path("mentees/", mentees.mentee_list, name="mentee-list"),
    path("mentees/<int:mentee_id>/", mentees.mentee_detail, name="mentee-detail"),
    path("appointments/<str:reference>/move/", booking.move, name="appointment-move"),
    path("appointments/<str:reference>/series/", booking.series, name="appointment-series"),
    path("appointments/<str:reference>/", appointments.detail, name="appointment-detail"),
    path("appointments/<str:reference>/wrap-up/", WrapUpWizard.as_view(), name="appointment-wrap-up"),
    path("appointments/<str:reference>/ticket/", appointments.ticket, name="appointment-ticket"),
    path("appointments/<str:reference>/cancel/", CancelWizard.as_view(), name="appointment-cancel"),
    path("appointments/<str:reference>/correct/", corrections.correct_outcome, name="appointment-correct"),
    path("mentors/<int:mentor_id>/wrap-up/", leadership.mentor_wrap_up, name="mentor-wrap-up"),
    path("mentors/<int:mentor_id>/wrap-up/done/", leadership.mentor_wrap_up_result, name="mentor-wrap-up-result"),
    path("wrap-up-request/", leadership.wrap_up_request, name="wrap-up-request"),
    path("accounts/locked-out/", leadership.locked_out_accounts_list, name="locked-out-accounts"),
    path("accounts/locked-out/unlock/", leadership.unlock_account, name="unlock-account"),
    path("my-details/", my_details.my_details, name="my-details"),
    # The mentee's sign-off of a session: no log-in, the signed link is the key.
    path("sign-off/<str:token>/", sign_off.sign_off, name="sign-off"),
]
