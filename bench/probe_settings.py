"""The project's settings with two probe views added, for bench.pages' throughput under gunicorn only."""

from mentoring.settings import *  # noqa: F403

ROOT_URLCONF = "bench.probe_urls"
