"""The project's settings with the benchmarks' probe views added (bench/probe_urls.py), for the benchmarks' gunicorn
servers only: the product's own URLs never include them."""

from pathlib import Path

from mentoring.settings import *  # noqa: F403
from mentoring.settings import TEMPLATES

ROOT_URLCONF = "bench.probe_urls"

# The logged-in floor's template (written so that either template engine reads it).
for _engine in TEMPLATES:
    _engine["DIRS"] = [*_engine.get("DIRS", []), Path(__file__).resolve().parent / "templates"]
