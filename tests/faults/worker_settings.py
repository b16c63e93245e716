"""The project's settings with a short Redis visibility timeout, for a worker that shows what acks_late redelivery
does: a message a killed worker had taken is handed out again after `visibility_timeout` seconds. With the
project's settings that is kombu's default, an hour; here it is 5 seconds, checked every second."""

from mentoring.settings import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "visibility_timeout": 5,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
