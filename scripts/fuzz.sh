#!/usr/bin/env bash
# libFuzzer (swiftc -sanitize=fuzzer,address) over the file parsers: the CSV reader of `stages`,
# the parameter JSON of `eval --load`, the sweep shard JSON of `merge` and `sweep --resume`.
# Each target compiles its parser's sources with the few CotflowCore/CotflowCore files they use.
# Not part of CI; scripts/bench.sh runs it with a fixed budget. Usage: bash scripts/fuzz.sh [seconds per target]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-60}
out=.build/fuzz
mkdir -p "$out"
support="Sources/CotflowCore/IO/Output.swift Sources/CotflowCore/IO/Reliability.swift Sources/CotflowCore/IO/JSONInput.swift Sources/CotflowCore/IO/JSONReader.swift Sources/CotflowCore/IO/Format.swift Sources/CotflowCore/Numerics/Statistics.swift"

build() {
    local name=$1; shift
    local src="$out/$name-src"
    rm -rf "$src"; mkdir -p "$src"
    for f in "$@" $support; do sed '/^import Cotflow/d' "$f" > "$src/$(basename "$f")"; done
    cp "Fuzz/$name.swift" "$src/FuzzTarget.swift"
    if ! swiftc -O -sanitize=fuzzer,address -parse-as-library -package-name cotflow -module-name Fuzz"$name" "$src"/*.swift \
        -o "$out/fuzz-$name" > "$out/$name-build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$out/$name-build.log"; echo "fuzz $name: build failed"; exit 1
    fi
}

build csv Sources/CotflowCore/IO/CSVData.swift
build parameters Sources/CotflowModel/Model/Parameters.swift
build shard Sources/CotflowExperiments/Sweep/*.swift

status=0
for name in csv parameters shard; do
    mkdir -p "$out/corpus-$name"
    log="$out/$name.log"
    if "$out/fuzz-$name" -max_total_time="$budget" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
        -artifact_prefix="$out/crash-$name-" "$out/corpus-$name" "Fuzz/corpus/$name" > "$log" 2>&1; then
        echo "fuzz $name: $(grep -E '^Done [0-9]+ runs' "$log" | tail -1), corpus $(ls "$out/corpus-$name" | wc -l) inputs"
    else
        echo "fuzz $name: FAILED (see $log and $out/crash-$name-*)"; status=1
    fi
done
exit $status
