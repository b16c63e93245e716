from django.apps import AppConfig


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    verbose_name = "Mentoring sessions"

    def ready(self):
        # Every process (web, Celery worker, shell) replaces the page cache's generation after its writes.
        from mentoring import page_cache  # noqa: F401
