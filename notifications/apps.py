from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self):
        from notifications import handlers
        from notifications.attendance import attendance_email
        from sessions_app import hooks

        handlers.connect()
        # The Cancel Session wizard previews the email the cancellation will send (sessions_app/hooks.py).
        hooks.attendance_email_preview.provide(attendance_email)
