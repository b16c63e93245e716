#!/usr/bin/env bash
# Sets everything up and runs every benchmark, one after another, printing their tables (about an hour).
# Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/mentoring_bench: dropped and
# re-created) and, for the PDF month, Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/15: flushed).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if ! command -v wrk >/dev/null 2>&1; then  # the load generator for page throughput
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk >/dev/null
fi
export PYTHONWARNINGS=ignore LOG_LEVEL=WARNING
for bench in "month_end --history 1000000 --paths 3" pdfs pages "calendar_paths --reuse" wrap_up_load "wrap_up_load --redis" \
    "traffic --appointments 1000000" "password_hashing --through-django"; do
  echo "== bench.$bench"
  .venv/bin/python -m bench.$bench
done
