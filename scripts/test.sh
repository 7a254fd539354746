#!/usr/bin/env bash
# The whole test suite: installs missing system packages, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-packages.sh
swift build --build-tests
swift test --skip-build
