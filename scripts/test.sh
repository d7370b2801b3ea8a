#!/usr/bin/env bash
# Install llmscale with its test dependencies into .venv (and from Debian's packages, when they are missing:
# prometheus and promtool, prometheus-alertmanager and amtool, caddy, shellcheck and node), lint, and run the
# test suite (one worker per core). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=0
for tool in promtool prometheus prometheus-alertmanager amtool caddy shellcheck node; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
if [ "$missing" = 1 ]; then
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  # The packages would start Prometheus, Alertmanager and Caddy servers; the tests start their own, on loopback.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod +x /usr/sbin/policy-rc.d
    trap '$sudo_cmd rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-alertmanager caddy shellcheck >/dev/null
  command -v node >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq nodejs >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[test]"
# checkov in a venv of its own (its pins would downgrade llmscale's boto3): the pin is the `scan` extra.
checkov_pin=$(.venv/bin/python -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["scan"][0])')
if [ "$(.venv/checkov/bin/checkov --version 2>/dev/null)" != "${checkov_pin#*==}" ]; then
  python3 -m venv .venv/checkov
  .venv/checkov/bin/python -m pip install --quiet "$checkov_pin"
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# One worker per core; a test file stays in one worker, so its module-scoped plans are built once.
.venv/bin/python -m pytest -n auto --dist loadfile "$@"
