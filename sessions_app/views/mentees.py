"""My mentees, and a mentee's page (issue 17: a session is booked from a mentee's page). Read-only: the pages
read sessions_app/mentees.py and link to the booking form with the mentee chosen."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from sessions_app import mentees
from sessions_app.scheduling import may_book_for_anyone, mentor_of


def _may_list_mentees(user) -> bool:
    return mentees.sees_every_mentee(user) or mentor_of(user) is not None


@login_required
def mentee_list(request):
    """A mentor's assigned mentees; Senior Leadership's and Finance's every active mentee. ?q= searches by name,
    ?page= is the page (a junk number gives the first page, one past the end the last)."""
    if not _may_list_mentees(request.user):
        raise Http404("Only mentors, Senior Leadership and Finance have mentees.")
    search = mentees.search_term(request.GET.get("q"))
    page = mentees.mentee_list(request.user, search=search, page=request.GET.get("page"))
    return render(request, "sessions_app/mentee_list.html", {
        "page": page, "search": search, "sees_every_mentee": mentees.sees_every_mentee(request.user)})


@login_required
def mentee_detail(request, mentee_id):
    """A mentee's page: 404 for a mentor the mentee is not assigned to, as for a mentee that does not exist."""
    page = mentees.mentee_page(request.user, mentee_id, upcoming_page=request.GET.get("upcoming"),
                               past_page=request.GET.get("past"))
    return render(request, "sessions_app/mentee_detail.html", {
        "page": page, "mentee": page.mentee,
        # A mentor may open only their assigned mentees, whom they may book; Senior Leadership and Finance anyone.
        "can_book": may_book_for_anyone(request.user) or not mentees.sees_every_mentee(request.user),
    })
