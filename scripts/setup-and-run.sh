#!/usr/bin/env bash
# Installs what is missing, builds in release mode and runs the main job at (d, n, k) = (10, 40, 5):
# the exact GD-chain loss, the reduced gradient flow, and CoT training of the transformer (reduced
# parameters, SGD at learning rate 0.01 for 1000 steps, so t = lr x step runs to 10 like the flow)
# from the same Assumption 4.1 initialisation, written to out/ (replacing the outputs of its own earlier run),
# then the trained model against the GD chain on the same prompts (cotflow eval).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-packages.sh
swift build -c release --product cotflow
bin=".build/release/cotflow"
"$bin" exact gd-loss --d 10 --n 40 --k 5
"$bin" ode --force --out out/ode
"$bin" train --init assumption --params reduced --optimizer sgd --learning-rate 0.01 --steps 1000 --force --out out/train
# The trained model's E||w^_k - w*||^2 against the GD chain's on the same prompts and the exact value above.
"$bin" eval --load out/train/parameters.json
echo "outputs in out/ode and out/train (trajectory.csv, summary.json); both use the flow time t"
echo "the exact loss (first line), the held-out evaluation loss of train and the eval lines are one quantity, E||w_k - w*||^2 after k steps:"
echo "the trained transformer runs the GD chain (eval: their largest difference per prompt); its sample has a heavy tail, so the tool quotes medians"
