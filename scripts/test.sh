#!/usr/bin/env bash
# The whole test suite: installs missing system packages, builds, runs every test (XCTest).
# The tests run an optimised build (the numerical tests need realistic sizes in reasonable time);
# -enable-testing keeps @testable imports working in release. Package.swift has no unsafeFlags.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-packages.sh
swift build -c release --build-tests -Xswiftc -enable-testing
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test -c release -Xswiftc -enable-testing --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
# A plain closing line: the totals of XCTest's last summary ("Executed N tests, with F failures ..."
# or, when tests were skipped, "Executed N tests, with S tests skipped and F failures ...").
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ (failures?|tests? skipped)" "$log" | tail -1 || true)
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
    skipped=0
    if echo "$summary" | grep -qE "[0-9]+ tests? skipped"; then skipped=$(echo "$summary" | sed -E 's/.* ([0-9]+) tests? skipped.*/\1/'); fi
    echo "$((total - failed - skipped)) passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
fi
exit $status
