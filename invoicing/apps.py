from django.apps import AppConfig


class InvoicingConfig(AppConfig):
    name = "invoicing"
    verbose_name = "Invoicing and pay"

    def ready(self):
        from invoicing import handlers

        handlers.connect()
        # The pages of sessions_app (dashboard, Service Appointment) say when a session is paid on a later payment
        # statement than its month's; statements are ours, so we answer for them.
        from invoicing.selectors import statement_moves_for
        from sessions_app.pay import provide_statement_moves

        provide_statement_moves(statement_moves_for)
        # Authorised hours count the sessions Finance's policy bills, at what the funder charges for a missed one.
        from invoicing.services.funder_rules import counting_rules
        from sessions_app.allowance import provide_counting_rules

        provide_counting_rules(counting_rules)
