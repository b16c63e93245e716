#!/usr/bin/env bash
# Installs what the project needs on a fresh Debian machine: system packages, then a virtualenv in .venv
# (or $VENV) holding the versions locked in requirements/dev.txt (README, "Dependencies").
set -euo pipefail
cd "$(dirname "$0")/.."

debian_packages=(python3-venv chromium libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils)
# npm fetches axe-core for the accessibility tests (below); Debian's, where the machine has none of its own.
command -v npm >/dev/null 2>&1 || debian_packages+=(npm)
missing=()
if command -v dpkg >/dev/null 2>&1; then
  for pkg in "${debian_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
venv=${VENV:-.venv}
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# Installs exactly what the lock files list (every version pinned, every file's hash checked), then the project
# itself. Runs again whenever the lock or pyproject.toml changes.
stamp=$venv/.installed-$(cat pyproject.toml requirements/base.txt requirements/dev.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  "$venv/bin/pip" install -q --require-hashes -r requirements/dev.txt
  "$venv/bin/pip" install -q --no-deps -e .
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

# axe-core for the accessibility tests: the version and hash in requirements/axe-core.txt, fetched with npm once
# into .cache/ (git-ignored), its tarball's sha512 checked against the committed one before anything is unpacked.
# Without npm or the registry the tests say so (a skip, or a failure in CI); a tarball whose hash differs stops here.
read -r axe_spec axe_integrity < <(grep -v '^#' requirements/axe-core.txt)
axe_dir=.cache/$axe_spec
if [ ! -f "$axe_dir/axe.min.js" ]; then
  axe_tmp=$(mktemp -d)
  if ! command -v npm >/dev/null 2>&1 || ! (cd "$axe_tmp" && npm pack --silent "$axe_spec" >/dev/null); then
    echo "axe-core: could not fetch $axe_spec with npm; the accessibility tests will say so" >&2
  else
    actual="sha512-$(openssl dgst -sha512 -binary "$axe_tmp"/*.tgz | base64 -w0)"
    if [ "$actual" != "$axe_integrity" ]; then
      rm -rf "$axe_tmp"
      echo "axe-core: $axe_spec's hash is $actual, requirements/axe-core.txt says $axe_integrity: refused" >&2
      exit 1
    fi
    tar -xzf "$axe_tmp"/*.tgz -C "$axe_tmp" package/axe.min.js package/LICENSE
    mkdir -p "$axe_dir"
    mv "$axe_tmp"/package/LICENSE "$axe_tmp"/package/axe.min.js "$axe_dir"/
  fi
  rm -rf "$axe_tmp"
fi
