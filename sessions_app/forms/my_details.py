"""A mentor's own details: postal address and bank details. The form only validates; the services save."""

from django import forms
from django.core.exceptions import ValidationError

from sessions_app.bank import ACCOUNT_NAME_MAX
from sessions_app.services import bank_details_clean

BANK_FIELDS = ("account_name", "sort_code", "account_number")
ALL_OR_NOTHING = "To change your bank details, fill in all three: the name on the account, the sort code and the " \
                 "account number."


class MyDetailsForm(forms.Form):
    address = forms.CharField(
        label="Postal address", required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Shown as the supplier's address on your payment statements (self-billing invoices).",
    )
    account_name = forms.CharField(label="Name on the account", required=False, max_length=ACCOUNT_NAME_MAX + 20,
                                   help_text="As your bank shows it.")
    sort_code = forms.CharField(label="Sort code", required=False, max_length=20,
                                help_text="Six digits, for example 12-34-56.",
                                widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))
    account_number = forms.CharField(label="Account number", required=False, max_length=20,
                                     help_text="Eight digits.",
                                     widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))

    def __init__(self, *args, has_bank_details: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if has_bank_details:
            for name in BANK_FIELDS:
                self.fields[name].help_text += " Leave all three empty to keep the details you gave before."

    def clean(self):
        cleaned = super().clean()
        given = [name for name in BANK_FIELDS if (cleaned.get(name) or "").strip()]
        self.bank_details = None
        if not given:
            return cleaned
        try:
            self.bank_details = bank_details_clean(**{name: cleaned.get(name) or "" for name in BANK_FIELDS})
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field in self.fields:
                    self.add_error(field, messages)
            if len(given) < len(BANK_FIELDS):
                self.add_error(None, ALL_OR_NOTHING)
        return cleaned
