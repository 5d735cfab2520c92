#!/usr/bin/env bash
# Sets up, builds and runs perfcast's main job on the bundled example model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build/perfcast inspect data/examples/resnet50.onnx --batch 8
