#!/usr/bin/env bash
# Install llmscale into .venv and run the offline plan of the single-gpu example stack (no cloud account).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
.venv/bin/llmscale plan "${1:-single-gpu}"
