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
        # The Service Appointment pages say when a session's month is closed; months are closed here.
        from invoicing.services.month_close import month_lock_for
        from sessions_app.closed_months import provide_month_lock

        provide_month_lock(month_lock_for)
