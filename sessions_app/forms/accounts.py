"""Unlocking an account that was locked out after failed log-ins. The form only validates; `account_unlock` unlocks."""

from django import forms


class UnlockForm(forms.Form):
    email = forms.CharField(max_length=254)

    def clean_email(self):
        # As the lock-out records it (mentoring.middleware.axes_username): stripped and lower-cased.
        return self.cleaned_data["email"].lower()
