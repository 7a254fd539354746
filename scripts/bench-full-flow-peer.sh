#!/usr/bin/env bash
# The full-matrix flow against JAX + diffrax (issue 21): `cotflow ode --params full` at
# (d, n, k) = (10, 40, 5), PROMPTS fixed prompts (default 16384), to t = 10 with its defaults
# (tolerances 1e-8 absolute, 1e-6 relative, 400-point log output grid), and the peer
# jax_fullflow.py (Tsit5, PID controller, max norm, the same tolerances) started from cotflow's
# initial parameters, alternated ROUNDS times (default 3), release build. Prints each run's wall
# seconds (cotflow: the flow with its output grid; the peer: the integration, compilation
# excluded), right-hand sides and final losses, the medians and their ratio.
# The peer is not part of this repository: it is read from PEER (default ../shared/peers/jax_fullflow.py
# beside the clone, as on CI, else /work/shared/peers/jax_fullflow.py). Without JAX and diffrax
# (`pip install jax diffrax`) the script says so and exits 0.
# The peer draws its own prompts (same distribution, other draws): its final loss differs from
# cotflow's by the sampling error of the prompts, not by the integration.
# Usage: [ROUNDS=N] [PROMPTS=N] [EXTRA="--stepper rkf45"] scripts/bench-full-flow-peer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${PEER:-}
if [[ -z "$peer" ]]; then
    for candidate in ../shared/peers/jax_fullflow.py /work/shared/peers/jax_fullflow.py; do
        if [[ -f "$candidate" ]]; then peer=$candidate; break; fi
    done
fi
if [[ -z "$peer" || ! -f "$peer" ]]; then echo "peer jax_fullflow.py not found (set PEER); skipping"; exit 0; fi
if ! python3 -c 'import jax, diffrax' 2>/dev/null; then echo "JAX or diffrax not installed (pip install jax diffrax); skipping"; exit 0; fi
rounds=${ROUNDS:-3}
prompts=${PROMPTS:-16384}
swift build -c release --product cotflow >/dev/null
cotflow=.build/release/cotflow
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
size=(--d 10 --n 40 --k 5)
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; peer $peer"
ours=() theirs=()
for r in $(seq 1 "$rounds"); do
    # shellcheck disable=SC2086
    "$cotflow" ode --params full "${size[@]}" --prompts "$prompts" --out "$dir/c$r" --quiet ${EXTRA:-} >/dev/null
    s=$(field "$dir/c$r/summary.json" seconds)
    echo "round $r cotflow: $s s, $(field "$dir/c$r/summary.json" rhs_evals) rhs, final loss $(field "$dir/c$r/summary.json" final_loss)"
    ours+=("$s")
    python3 "$peer" "${size[@]}" --prompts "$prompts" --t-end 10 --rtol 1e-6 --atol 1e-8 --norm max \
        --init-from "$dir/c1/initial_parameters.json" > "$dir/p$r.json"
    s=$(field "$dir/p$r.json" flow_s_wall)
    echo "round $r peer:    $s s, $(field "$dir/p$r.json" rhs_evals) rhs, final loss $(field "$dir/p$r.json" final_loss)"
    theirs+=("$s")
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
ours = [float(x) for x in sys.argv[1].split()]; theirs = [float(x) for x in sys.argv[2].split()]
a, b = statistics.median(ours), statistics.median(theirs)
print(f"median cotflow {a:.2f} s, peer {b:.2f} s: cotflow is {b / a:.2f}x the peer's speed")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
