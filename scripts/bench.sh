#!/usr/bin/env bash
# Benchmarks (release build) and, with a fixed budget, the parser fuzzers. Not part of CI.
# Usage: bash scripts/bench.sh [fuzz seconds per target, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
swift run -c release cotflow-bench
bash scripts/fuzz.sh "${1:-60}"
