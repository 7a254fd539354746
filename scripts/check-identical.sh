#!/usr/bin/env bash
# Checks that a change keeps every result the same: builds BASE (a git revision, default main) and
# the working tree in release mode, runs the README's commands (every `$B ...` line of its code
# blocks) and every example at --quick size with each build, from the same directory and through
# the same path (so recorded command lines agree), and compares stdout, stderr and every file they
# write, byte for byte, after blanking timings (JSON keys naming seconds, "... s" and rates in text;
# progress lines on stderr, which are printed at timed intervals, are dropped).
# Usage: scripts/check-identical.sh [BASE] ; prints one closing line; exit 0 when identical, 1 when not.
# KEEP=1 keeps the run directory (its path is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
base=${1:-main}
rev=$(git rev-parse --verify "$base^{commit}") || { echo "check-identical: '$base' is not a revision" >&2; exit 64; }
run=$(mktemp -d /tmp/check-identical.XXXXXX)
# The base revision's tree and release build are kept (one per revision) for the next check.
basetree=${TMPDIR:-/tmp}/cotflow-base-${rev:0:12}
cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT

examples=(cot-vs-nocot training-dynamics weights-heatmap ood-generalization looped-vs-single stage-sweep)
build() { # tree -> builds cotflow and the examples in release mode
    local tree=$1
    (cd "$tree" && swift build -c release --product cotflow >/dev/null)
    for e in "${examples[@]}"; do (cd "$tree" && swift build -c release --product "$e" >/dev/null); done
}
echo "building $base ($rev) and the working tree (release)"
exec 9>"$basetree.lock"; flock 9
[ -d "$basetree" ] || git archive --format=tar --prefix=tree/ "$rev" | tar -x -C "$(dirname "$basetree")" --transform "s|^tree|$(basename "$basetree")|"
build "$basetree"
flock -u 9
build "$root"

# The README's commands: code-block lines that call $B (continuations joined), minus the build
# line and completion scripts written to system paths.
commands=$(awk '
    /^    / { line = substr($0, 5); if (cont != "") { line = cont " " line; cont = "" }
            if (line ~ /\\$/) { sub(/\\$/, "", line); cont = line; next }
            if (line ~ /\$B / && line !~ /swift build/ && line !~ /generate-completion-script/) print line }
' README.md)

normalise() { # dir bindir: blank timings in place; progress lines (printed at timed intervals) dropped;
    # an output directory's lock holds the pid of the run that took it, a Slurm script the binary's resolved path
    find "$1" -type f -name '*.err' -print0 | xargs -0 -r sed -i -E -e '/ elapsed/d' -e '/^[a-z0-9/ -]+ done: /d'
    find "$1" -type f -name '.cotflow*.lock' -print0 | xargs -0 -r sed -i -E 's/^[0-9]+$/PID/'
    find "$1" -type f -name '*.sbatch' -print0 | xargs -0 -r sed -i "s|$(realpath "$2")/cotflow|BIN/cotflow|g"
    find "$1" -type f \( -name '*.json' -o -name '*.txt' -o -name '*.csv' -o -name '*.out' -o -name '*.err' -o -name '*.md' -o -name '*.sbatch' \) -print0 |
        xargs -0 -r sed -i -E \
            -e 's/("[a-z_]*seconds[a-z_]*"): *[-0-9.eE+]+/\1: T/g' \
            -e 's/[0-9]+(\.[0-9]+)? ?(s|ms|µs)\b/T s/g' \
            -e 's/[0-9.]+ *(steps|points|it|RHS)\/s/T \1\/s/g'
}

execute() { # label bindir
    local label=$1 bindir=$2 work="$run/work" i=0
    rm -rf "$work"; mkdir -p "$work" "$run/bin"
    ln -sfn "$bindir/cotflow" "$run/bin/cotflow"
    for e in "${examples[@]}"; do ln -sfn "$bindir/$e" "$run/bin/$e"; done
    while IFS= read -r cmd; do
        i=$((i + 1))
        (cd "$work" && B="$run/bin/cotflow" && eval "$cmd") >"$work/cmd$i.out" 2>"$work/cmd$i.err" || echo "exit $?" >>"$work/cmd$i.out"
    done <<< "$commands"
    for e in "${examples[@]}"; do
        (cd "$work" && "$run/bin/$e" --quick --out "ex/$e") >"$work/ex-$e.out" 2>"$work/ex-$e.err" || echo "exit $?" >>"$work/ex-$e.out"
    done
    normalise "$work" "$bindir"
    mv "$work" "$run/$label"
    echo "$label: $i README commands, ${#examples[@]} examples"
}
execute base "$basetree/.build/release"
execute new "$root/.build/release"

if diff -r "$run/base" "$run/new" >"$run/diff.txt"; then
    echo "identical: every README command and example (--quick) gives the same bytes as $base (timings aside)"
else
    KEEP=1
    head -60 "$run/diff.txt"
    echo "DIFFERENT from $base: $(grep -c '^diff\|^Only' "$run/diff.txt") files differ (full diff: $run/diff.txt)"
    exit 1
fi
