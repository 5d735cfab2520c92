#!/usr/bin/env bash
# Sets up, builds and runs every test. The first run exports the torchvision test models
# (tests/fixtures/export_models.py, ~2.5 minutes on 2 cores) into build/fixtures; later runs reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
