from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing and pay"

    def ready(self):
        from invoicing import handlers, selectors, services, views
        from invoicing.models import OrganisationDetails
        from invoicing.services.funder_rules import counting_rules
        from invoicing.services.month_close import month_lock_for
        from notifications import hooks as notifications_hooks
        from sessions_app import hooks as sessions_hooks

        handlers.connect()
        # What the apps below ask of Finance (sessions_app/hooks.py, notifications/hooks.py), which they do not
        # import: a session page's ticket to Finance, the homepage's replies, the dashboard's payment statements
        # and whether a session is paid on a later statement than its month's, the tickets on the admin's
        # "Complete wrap-up" page; the organisation's accounts email every email's replies go to.
        sessions_hooks.ticket_raise.provide(services.ticket_raise)
        sessions_hooks.finance_replies_for.provide(selectors.finance_replies_for)
        sessions_hooks.payment_statements_of.provide(selectors.payment_statements_of)
        sessions_hooks.statement_moves.provide(selectors.statement_moves_for)
        sessions_hooks.open_tickets_about.provide(selectors.open_tickets_about)
        notifications_hooks.accounts_email.provide(OrganisationDetails.accounts_email)
        sessions_hooks.month_lock.provide(month_lock_for)  # the SA pages say when a session's month is closed
        sessions_hooks.timesheet_url.provide(views.timesheet_url)  # a funding arrangement's admin page links them
        # Authorised hours count the sessions Finance's policy bills, at what the funder charges for a missed one.
        sessions_hooks.counting_rules.provide(counting_rules)
