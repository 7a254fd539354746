#!/usr/bin/env bash
# The full-matrix flow against JAX + diffrax (issue 21): `cotflow ode --params full` at
# (d, n, k) = (10, 40, 5), PROMPTS fixed prompts (default 16384), to t = 10 with its defaults
# (tolerances 1e-8 absolute, 1e-6 relative, 400-point log output grid), and the peer
# jax_fullflow.py (Tsit5, PID controller, max norm, the same tolerances) started from cotflow's
# initial parameters, alternated ROUNDS times (default 3), release build. Prints each run's wall
# seconds (cotflow: the flow with its output grid; the peer: the integration, compilation
# excluded), right-hand sides and final losses, the medians and their ratio.
# The peer is scripts/peers/jax_fullflow.py (adapted from the project's shared peer, which drew its
# own prompts): it integrates cotflow's own prompts, written by `cotflow-bench full-flow-prompts`,
# from cotflow's initial parameters, so the final losses must agree to the tolerances; the script
# prints their relative difference. PEER=path picks another peer script (it must take --prompts-from).
# Without JAX and diffrax (`pip install jax diffrax`) the script says so and exits 0.
# Usage: [ROUNDS=N] [PROMPTS=N] [EXTRA="--stepper rkf45"] scripts/bench-full-flow-peer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${PEER:-scripts/peers/jax_fullflow.py}
if [[ ! -f "$peer" ]]; then echo "peer $peer not found"; exit 1; fi
if ! python3 -c 'import jax, diffrax' 2>/dev/null; then echo "JAX or diffrax not installed (pip install jax diffrax); skipping"; exit 0; fi
rounds=${ROUNDS:-3}
prompts=${PROMPTS:-16384}
swift build -c release --product cotflow >/dev/null
swift build -c release --product cotflow-bench >/dev/null
cotflow=.build/release/cotflow
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
size=(--d 10 --n 40 --k 5)
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
.build/release/cotflow-bench full-flow-prompts 10 40 "$prompts" 0 "$dir/prompts.f64" >/dev/null
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; peer $peer"
ours=() theirs=()
for r in $(seq 1 "$rounds"); do
    # shellcheck disable=SC2086
    "$cotflow" ode --params full "${size[@]}" --prompts "$prompts" --out "$dir/c$r" --quiet ${EXTRA:-} >/dev/null
    s=$(field "$dir/c$r/summary.json" seconds)
    echo "round $r cotflow: $s s, $(field "$dir/c$r/summary.json" rhs_evals) rhs, final loss $(field "$dir/c$r/summary.json" final_loss)"
    ours+=("$s")
    python3 "$peer" "${size[@]}" --prompts "$prompts" --t-end 10 --rtol 1e-6 --atol 1e-8 --norm max \
        --init-from "$dir/c1/initial_parameters.json" --prompts-from "$dir/prompts.f64" > "$dir/p$r.json"
    s=$(field "$dir/p$r.json" flow_s_wall)
    echo "round $r peer:    $s s, $(field "$dir/p$r.json" rhs_evals) rhs, final loss $(field "$dir/p$r.json" final_loss)"
    python3 - "$dir/c$r/summary.json" "$dir/p$r.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
print(f"round final losses: cotflow {a['final_loss']!r}, peer {b['final_loss']!r}, relative difference "
      f"{abs(a['final_loss'] - b['final_loss']) / abs(b['final_loss']):.2e}; initial losses relative difference "
      f"{abs(a['initial_loss'] - b['initial_loss']) / abs(b['initial_loss']):.2e}")
PY
    theirs+=("$s")
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
ours = [float(x) for x in sys.argv[1].split()]; theirs = [float(x) for x in sys.argv[2].split()]
a, b = statistics.median(ours), statistics.median(theirs)
print(f"median cotflow {a:.2f} s, peer {b:.2f} s: cotflow is {b / a:.2f}x the peer's speed")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
