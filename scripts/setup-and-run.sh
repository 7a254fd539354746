#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs the main job: the reduced gradient
# flow and full CoT training of the transformer from the same Assumption 4.1 initialisation
# at (d, n, k) = (10, 40, 5), written to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-packages.sh
swift build -c release --product cotflow
bin=".build/release/cotflow"
"$bin" exact gd-loss --d 10 --n 40 --k 5
"$bin" ode --out out/ode
"$bin" train --init assumption --params reduced --out out/train
echo "outputs in out/ode and out/train (trajectory.csv, summary.json)"
