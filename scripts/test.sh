#!/usr/bin/env bash
# Sets everything up and runs the tests. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec "${VENV:-.venv}/bin/python" -m pytest "$@"
