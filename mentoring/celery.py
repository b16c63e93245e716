import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mentoring.settings")

app = Celery("mentoring")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from mentoring.schedule import beat_schedule  # noqa: E402

app.conf.beat_schedule = beat_schedule()
