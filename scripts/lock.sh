#!/usr/bin/env bash
# Writes the lock files from pyproject.toml with `uv pip compile` (uv is itself locked in the dev extras):
# requirements/base.txt, what production runs, and requirements/dev.txt, that plus the dev extras at the same
# versions. Both pin every package, dependencies included, with the hashes of its files, for Python 3.11 and later
# (environment markers say which packages only some interpreters need). Arguments go to both runs:
#   ./scripts/lock.sh                          after editing pyproject.toml: resolves only what changed
#   ./scripts/lock.sh --upgrade-package NAME   NAME to its newest version within pyproject.toml's range
#   ./scripts/lock.sh --upgrade                every package to its newest version
set -euo pipefail
cd "$(dirname "$0")/.."

uv=${VENV:-.venv}/bin/uv
compile=("$uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes
         --custom-compile-command ./scripts/lock.sh "$@")
"${compile[@]}" --output-file requirements/base.txt pyproject.toml
"${compile[@]}" --extra dev --constraints requirements/base.txt --output-file requirements/dev.txt pyproject.toml
