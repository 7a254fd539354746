#!/usr/bin/env bash
# The library's API reference: every public type, and every public member of a public type, of the
# library modules carries a doc comment (checked on the symbol graphs the compiler emits), and DocC
# renders the reference (swift-docc-plugin). Prints one closing line; exit 0 when every one is documented.
# Usage: bash scripts/check-docs.sh [--render DIR]   (--render writes the HTML reference into DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
modules=(CotflowCore CotflowExact CotflowModel CotflowStages CotflowExperiments CotflowPlot)
graphs=$(mktemp -d /tmp/cotflow-symbols.XXXXXX)
trap 'rm -rf "$graphs"' EXIT
# SwiftPM also extracts the graphs of its generated test-discovery module, which fails on Linux
# after the library's graphs are written: the check below requires those six files instead.
dir=$(swift build --show-bin-path)/../symbolgraph
rm -rf "$dir"
swift package dump-symbol-graph --minimum-access-level public --skip-synthesized-members >"$graphs/log" 2>&1 || true
LOG="$graphs/log" python3 - "$dir" "${modules[@]}" <<'PY'
import json, sys, os
folder, modules = sys.argv[1], sys.argv[2:]
types = {"swift.struct", "swift.class", "swift.enum", "swift.protocol", "swift.typealias"}
missing, total = [], 0
for m in modules:
    path = os.path.join(folder, f"{m}.symbols.json")
    if not os.path.exists(path):
        print(open(os.environ.get("LOG", "/dev/null")).read()[-3000:])
        print(f"docs: no symbol graph for {m}"); sys.exit(1)
    graph = json.load(open(path))
    for s in graph["symbols"]:
        if s["kind"]["identifier"] not in types or s.get("accessLevel") != "public":
            continue
        total += 1
        if not s.get("docComment", {}).get("lines"):
            loc = s.get("location", {})
            where = loc.get("uri", "?").split("/Sources/")[-1] + ":" + str(loc.get("position", {}).get("line", 0) + 1)
            missing.append(f"  {m}.{'.'.join(s['pathComponents'])} ({where})")
for line in missing: print(line)
print(f"docs: {total - len(missing)} of {total} public types documented" + ("" if not missing else f"; {len(missing)} without a doc comment"))
sys.exit(1 if missing else 0)
PY
if [ "${1:-}" = "--render" ] && [ -n "${2:-}" ]; then
    mkdir -p "$2"
    for m in "${modules[@]}"; do
        swift package --allow-writing-to-directory "$2" generate-documentation --target "$m" \
            --disable-indexing --transform-for-static-hosting --output-path "$2/$m" >/dev/null
    done
    echo "docs: the reference of ${modules[*]} is in $2"
fi
