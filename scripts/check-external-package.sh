#!/usr/bin/env bash
# A package outside the repository that depends on this one by path (`.package(path:)`), does
# `import Cotflow` and computes an exact loss in a few lines (the README's example): builds it
# (debug, only what it needs), runs it and checks the printed exact value against
# `cotflow exact cot-loss` at the same point. Prints one closing line; exit 0 when they agree.
# Usage: bash scripts/check-external-package.sh   (KEEP=1 keeps the temporary package)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d /tmp/cotflow-external.XXXXXX)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi; }
trap cleanup EXIT
# The dependency's identity is the last component of its path: reach the repository as `cotflow`.
ln -s "$root" "$tmp/cotflow"
mkdir -p "$tmp/uses-cotflow/Sources/uses-cotflow"
cat > "$tmp/uses-cotflow/Package.swift" <<'SWIFT'
// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "uses-cotflow",
    dependencies: [.package(path: "../cotflow")],
    targets: [.executableTarget(name: "uses-cotflow", dependencies: [.product(name: "Cotflow", package: "cotflow")])]
)
SWIFT
cat > "$tmp/uses-cotflow/Sources/uses-cotflow/main.swift" <<'SWIFT'
import Cotflow

// The exact population CoT loss of the reduced model at V31 = -0.5 I, W13 = 0.9 I.
let loss = try ReducedLoss(n: 10, d: 3, k: 3, eta: paperStepSize(n: 10, d: 3))
let v = Rational.parse("-0.5")!, w = Rational.parse("0.9")!
print(loss.exactLoss(v: [v, v, v], w: [w, w, w]))
SWIFT
start=$(date +%s)
(cd "$tmp/uses-cotflow" && swift build --product uses-cotflow >"$tmp/build.log" 2>&1) || {
    tail -30 "$tmp/build.log"; echo "external package: the build failed"; exit 1; }
got=$("$tmp/uses-cotflow/.build/debug/uses-cotflow")
built=$(( $(date +%s) - start ))
# The reference: the command line at the same point, its exact value from --json.
swift build -c release -Xswiftc -enable-testing --product cotflow >/dev/null  # the flags of scripts/test.sh: no rebuild after it
want=$(.build/release/cotflow exact cot-loss --d 3 --n 10 --k 3 --v -0.5 --w 0.9 --json | sed -n 's/.*"exact": "\(.*\)".*/\1/p')
if [ -n "$want" ] && [ "$got" = "$want" ]; then
    echo "external package: import Cotflow built in ${built}s and printed $got, as cotflow exact cot-loss"
else
    echo "external package: printed '$got', cotflow exact cot-loss gives '$want'"
    exit 1
fi
