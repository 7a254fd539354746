#!/usr/bin/env bash
# A real Slurm cluster in the tests: starts a one-node cluster on this machine (as root; munge with
# its own key and socket, slurmctld and slurmd from scripts/slurm/slurm.conf), submits a 4-task
# array of a small training sweep written by `cotflow sweep --emit-sbatch`, waits for it, merges the
# shards with `cotflow merge` and checks that the merged files equal those of the unsharded run
# (the sweep's files hold no timings, so they must be byte-identical). Installs Debian's slurmctld,
# slurmd, slurm-client and munge when missing. Stops the daemons it started, also on failure or
# interruption, and prints one closing line. Exit 0 only when the check passed.
#
# Environment: COTFLOW (the cotflow executable; default .build/debug/cotflow or .build/release/cotflow
# when newer than every source, else a fresh debug build), SLURM_CHECK_TIMEOUT (seconds for the
# array, default 300). Every daemon start and Slurm command has its own time limit.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
timeout_s=${SLURM_CHECK_TIMEOUT:-300}
started=$(date +%s)

fail() { echo "slurm-check: FAILED: $*"; exit 1; }

if [ "$(id -u)" != 0 ]; then fail "must run as root (the one-node cluster runs its daemons as root)"; fi

# 1. Packages.
missing=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "slurm-check: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || fail "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
fi
PATH=/usr/sbin:/usr/bin:$PATH

# 2. The cotflow executable.
# A built executable is used only when it is newer than every source (so never a stale one).
fresh() { [ -x "$1" ] && [ -z "$(find Sources Package.swift -newer "$1" -print -quit)" ]; }
cotflow=${COTFLOW:-}
if [ -z "$cotflow" ]; then
    if fresh .build/debug/cotflow; then cotflow=$repo/.build/debug/cotflow
    elif fresh .build/release/cotflow; then cotflow=$repo/.build/release/cotflow
    else
        swift build --product cotflow >&2 || fail "swift build --product cotflow failed"
        cotflow=$repo/.build/debug/cotflow
    fi
fi
[ -x "$cotflow" ] || fail "no cotflow executable at $cotflow"

# 3. A run directory with the configuration, the munge key and every daemon's files.
run=$(mktemp -d /tmp/cotflow-slurm.XXXXXX)
chmod 700 "$run"
cleanup() {
    local status=$?
    if [ -n "${SLURM_CONF:-}" ] && [ -n "${jobid:-}" ]; then timeout 10 scancel "$jobid" >/dev/null 2>&1 || true; fi
    for f in slurmd.pid slurmctld.pid munged.pid; do
        if [ -s "$run/$f" ]; then kill "$(cat "$run/$f" 2>/dev/null)" 2>/dev/null || true; fi
    done
    # Wait (at most 10 s) for them to exit, then kill what is left, before removing their files.
    for _ in $(seq 1 100); do
        alive=0
        for f in slurmd.pid slurmctld.pid munged.pid; do
            if [ -s "$run/$f" ] && kill -0 "$(cat "$run/$f" 2>/dev/null)" 2>/dev/null; then alive=1; fi
        done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for f in slurmd.pid slurmctld.pid munged.pid; do
        if [ -s "$run/$f" ]; then kill -KILL "$(cat "$run/$f" 2>/dev/null)" 2>/dev/null || true; fi
    done
    if [ $status != 0 ] && [ -d "$run" ]; then
        echo "slurm-check: logs kept in $run" >&2
        tail -n 20 "$run"/*.log >&2 2>/dev/null || true
    else
        rm -rf "$run"
    fi
    return $status
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

free_port() {
    python3 - "$1" <<'PY' 2>/dev/null || echo "$1"
import socket, sys
start = int(sys.argv[1])
for p in range(start, start + 200):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); s.close(); print(p); break
    except OSError:
        s.close()
PY
}
host=$(hostname -s 2>/dev/null || hostname)
ctld_port=$(free_port 16817)
slurmd_port=$(free_port $((ctld_port + 1)))
cpus=$(nproc)
mkdir -p "$run/state" "$run/spool" "$run/sweep" "$run/whole"
sed -e "s|@HOST@|$host|g" -e "s|@RUN@|$run|g" -e "s|@CTLD_PORT@|$ctld_port|g" \
    -e "s|@SLURMD_PORT@|$slurmd_port|g" -e "s|@CPUS@|$cpus|g" scripts/slurm/slurm.conf > "$run/slurm.conf"
cp scripts/slurm/cgroup.conf "$run/cgroup.conf"
export SLURM_CONF=$run/slurm.conf

dd if=/dev/urandom of="$run/munge.key" bs=1024 count=1 status=none
chmod 400 "$run/munge.key"
timeout 30 munged --force --key-file="$run/munge.key" --socket="$run/munge.socket" --pid-file="$run/munged.pid" \
    --log-file="$run/munged.log" --seed-file="$run/munged.seed" || fail "munged did not start (see $run/munged.log)"

timeout 30 slurmctld -f "$run/slurm.conf" || fail "slurmctld did not start"
timeout 30 slurmd -f "$run/slurm.conf" -N cotflow || fail "slurmd did not start"

# 4. Wait for the controller and the node (30 s).
ready=0
for _ in $(seq 1 60); do
    state=$(timeout 10 sinfo -h -n cotflow -o %T 2>/dev/null || true)
    case "$state" in idle*|mix*|alloc*) ready=1; break ;; esac
    sleep 0.5
done
[ $ready = 1 ] || fail "the node did not become idle within 30 s (state '${state:-none}')"

# 5. The sweep: 8 training points (4 learning rates x 2 seeds, about a second each), as a 4-task array.
sweep=(sweep --job train --d 3 --n 12 --k 2 --params reduced --init assumption --optimizer sgd
       --steps 200 --batch-size 64 --held-out 500 --vary learning_rate=0.03:3:4:log --vary seed=0,1)
"$cotflow" "${sweep[@]}" --out "$run/sweep" --emit-sbatch "$run/sweep.sbatch" --shards 4 >/dev/null \
    || fail "cotflow sweep --emit-sbatch failed"
jobid=$(timeout 30 sbatch --parsable "$run/sweep.sbatch") || fail "sbatch refused the array script"
jobid=${jobid%%;*}
# The unsharded run meanwhile, serially, for the comparison.
"$cotflow" "${sweep[@]}" --out "$run/whole" --jobs 1 --quiet >/dev/null || fail "the unsharded sweep failed"

deadline=$(( $(date +%s) + timeout_s ))
while timeout 10 squeue -h -j "$jobid" 2>/dev/null | grep -q .; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "array job $jobid did not finish within $timeout_s s"
    sleep 1
done
for i in 0 1 2 3; do
    [ -f "$run/sweep/shard-$i-of-4.json" ] || fail "array task $i wrote no shard (see $run/sweep/slurm-${jobid}_$i.out)"
done

# 6. Merge and compare.
"$cotflow" merge "$run/sweep" >/dev/null || fail "cotflow merge failed"
for f in sweep.tsv sweep.json report.txt report.json; do
    cmp -s "$run/sweep/$f" "$run/whole/$f" || fail "merged $f differs from the unsharded run's"
done
points=$(($(wc -l < "$run/whole/sweep.tsv") - 1))
trap - EXIT
cleanup
echo "slurm-check: passed: a 4-task Slurm array of a $points-point training sweep merged to the unsharded run's files byte for byte; daemons stopped ($(( $(date +%s) - started )) s)"
