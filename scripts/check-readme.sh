#!/usr/bin/env bash
# Runs every command block of README.md in order, as a new user would on a fresh clone, and fails
# on the first non-zero exit. The blocks are the README's indented code blocks; they run in one
# shell (so `B=...` carries over), in a temporary copy of the tracked files (so `out/` starts
# empty and an earlier block's outputs are what a later block finds). What is mapped, to keep the
# run short and off the system:
#   - `swift build ...` is the release build made once here, before the blocks (the build
#     `scripts/test.sh` makes, so after the tests it costs nothing); the copy's `.build/release`
#     is that build's directory;
#   - `swift run -c release EXAMPLE` runs the built example at its `--quick` size (the full sizes
#     take minutes; Tests/ExamplesTests runs the same --quick sizes);
#   - `bash scripts/test.sh` is skipped (CI runs it just before this script), and so are the
#     shell-completion lines, which write to system paths;
#   - a Python block runs with python3 when pandas imports, and is skipped with a note when not.
# Usage: scripts/check-readme.sh [README]   (KEEP=1 keeps the temporary directory; NO_BUILD=1
# uses the binaries in .build/release as they are)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
readme=${1:-README.md}
[ -f "$readme" ] || { echo "check-readme: no file $readme" >&2; exit 64; }
work=$(mktemp -d /tmp/check-readme.XXXXXX)
cleanup() { if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

if [ "${NO_BUILD:-0}" != 1 ]; then  # NO_BUILD=1: use the binaries in .build/release as they are
    echo "check-readme: building (release, as scripts/test.sh does)"
    swift build -c release --build-tests -Xswiftc -enable-testing >/dev/null
fi
git ls-files -z | tar --null -T - -c | tar -x -C "$work"
mkdir -p "$work/.build"
ln -s "$root/.build/release" "$work/.build/release"

# Blocks: runs of lines indented by 4 spaces outside fenced blocks, continuation lines joined.
# Output: one record per command, "shell<TAB>command" or "python<TAB>block" (a block's lines
# joined by \x1f), in README order.
records=$(awk '
    function flush() {
        if (n == 0) return
        if (lines[1] ~ /^(import |from )/) { s = lines[1]; for (i = 2; i <= n; i++) s = s "\x1f" lines[i]; print "python\t" s }
        else for (i = 1; i <= n; i++) print "shell\t" lines[i]
        n = 0
    }
    /^```/ { flush(); fenced = !fenced; next }
    fenced { next }
    /^    / { line = substr($0, 5); if (cont != "") { line = cont " " line; cont = "" }
            if (line ~ /\\$/) { sub(/\\$/, "", line); cont = line; next }
            lines[++n] = line; next }
    { flush() }
    END { flush() }
' "$readme")

# The shell that runs the blocks: one generated script, every command followed by a check that
# names it, so the first failure stops the run with its exit status and the README line.
script="$work/.check-readme.sh"
{
    echo 'set -uo pipefail'
    echo 'failed() { echo "check-readme: FAILED (exit $1): $2" >&2; exit 1; }'
    # swift build: done above; swift run -c release NAME ARGS: the built example at --quick.
    cat <<'EOF'
swift() {
    case "$1" in
        build) return 0 ;;
        run) shift; while [[ "${1:-}" == -* ]]; do [[ "$1" == -c ]] && shift; shift; done
             local name=$1; shift; ".build/release/$name" --quick "$@" ;;
        *) command swift "$@" ;;
    esac
}
export -f swift
EOF
} >"$script"
count=0 skipped=0
while IFS=$'\t' read -r kind body; do
    if [ "$kind" = python ]; then
        code=$(printf '%s' "$body" | tr '\037' '\n')
        count=$((count + 1))
        if python3 -c 'import pandas' 2>/dev/null; then
            printf 'echo "+ python3 (README block: %s)" >&2\npython3 - <<'"'"'PYEOF'"'"' || failed $? %q\n%s\nPYEOF\n' \
                "$(printf '%s' "$code" | head -1)" "python block" "$code" >>"$script"
        else
            echo "check-readme: python block skipped (pandas does not import): $(printf '%s' "$code" | head -1)"
            skipped=$((skipped + 1))
        fi
        continue
    fi
    case "$body" in
        "bash scripts/test.sh"*|*generate-completion-script*)
            echo "check-readme: skipped: $body"; skipped=$((skipped + 1)); continue ;;
    esac
    count=$((count + 1))
    printf 'echo %q >&2\n{\n%s\n} || failed $? %q\n' "+ $body" "$body" "$body" >>"$script"
done <<< "$records"
echo 'echo "check-readme: every command ran and exited 0"' >>"$script"

echo "check-readme: running $count README commands in order in $work ($skipped skipped)"
started=$(date +%s)
(cd "$work" && bash "$script" >"$work/.stdout" 2>"$work/.stderr") || {
    status=$?
    tail -40 "$work/.stderr" >&2
    KEEP=1
    exit "$status"
}
tail -1 "$work/.stderr"
echo "check-readme: $count commands in $(( $(date +%s) - started )) s"
