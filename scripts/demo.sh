#!/usr/bin/env bash
# Sets everything up and serves the demo at http://127.0.0.1:8000 on the embedded default
# (SQLite, Celery tasks run in-process, emails printed to the console).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/python manage.py migrate --no-input
.venv/bin/python manage.py seed_demo
exec .venv/bin/python manage.py runserver 127.0.0.1:8000
