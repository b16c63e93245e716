"""A mentor's own details: the postal address their payment statements show and where they are paid. The bank
details are shown masked, here as everywhere; the mentor types them in full to change them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from sessions_app.forms.my_details import MyDetailsForm
from sessions_app.models import Mentor, MentorBankDetails
from sessions_app.services import bank_details_save, mentor_address_save


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_details(request):
    mentor = Mentor.objects.select_related("user").filter(user=request.user, is_active=True).first()
    if mentor is None:
        raise Http404("There is no such page.")
    details = MentorBankDetails.objects.filter(mentor=mentor).first()
    if request.method == "POST":
        form = MyDetailsForm(request.POST, has_bank_details=details is not None)
        if form.is_valid():
            with transaction.atomic():
                mentor_address_save(mentor=mentor, acting_user=request.user, address=form.cleaned_data["address"])
                if form.bank_details is not None:
                    bank = form.bank_details
                    bank_details_save(mentor=mentor, acting_user=request.user, account_name=bank.account_name,
                                      sort_code=bank.sort_code, account_number=bank.account_number)
            messages.success(request, "Your details are saved.")
            return redirect("my-details")
    else:
        form = MyDetailsForm(initial={"address": mentor.address}, has_bank_details=details is not None)
    return render(request, "sessions_app/my_details.html", {"form": form, "details": details, "mentor": mentor})
