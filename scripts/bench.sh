#!/usr/bin/env bash
# Builds and runs the benchmarks in bench/. Exports the large benchmark graphs first
# (a 44-layer encoder with >5,000 nodes, a weight-stripped graph with >10,000 nodes: ~4 minutes, ~5 GB RAM).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
/usr/bin/python3 tests/fixtures/export_models.py build/fixtures --bench
for b in build/bench/*_bench; do
  PERFCAST_FIXTURE_DIR=build/fixtures "$b" --benchmark_min_time=1
done
