"""Questions notifications asks of the app above it (invoicing), which it does not import: answered in
InvoicingConfig.ready, as sessions_app's are (sessions_app/hooks.py)."""

from sessions_app.hooks import Hook

# Where replies to our emails go: () -> the organisation's accounts email (its details in the Finance admin), or ""
# when it has none. Asked when each email is sent, so a change in the admin counts for emails already queued.
accounts_email = Hook("accounts_email", provided_by="invoicing", default=lambda: "")
