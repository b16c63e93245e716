#!/bin/sh
# Web container: apply migrations, refresh the static files nginx serves (the `static` volume keeps the files of
# the image it was first made from), then serve the app with gunicorn behind nginx (docker/nginx.conf).
# WEB_CONCURRENCY sets the number of workers (default: 2 x CPUs + 1, at most 9).
set -eu

python manage.py migrate --no-input
python manage.py collectstatic --no-input --verbosity 0

if [ -z "${WEB_CONCURRENCY:-}" ]; then
  WEB_CONCURRENCY=$((2 * $(nproc) + 1))
  [ "$WEB_CONCURRENCY" -le 9 ] || WEB_CONCURRENCY=9
fi

exec gunicorn mentoring.wsgi:application \
  --bind 0.0.0.0:8000 \
  --workers "$WEB_CONCURRENCY" \
  --timeout "${GUNICORN_TIMEOUT:-60}" \
  --access-logfile -
