#!/usr/bin/env python3
"""Classifies the differences check-identical.sh found between two run trees (KEEP=1 keeps them).

Usage: scripts/classify-differences.py [--changes | --causes FILE] RUN_DIR   (RUN_DIR holds base/ and new/)

Every file that differs gets one class, the first that fits:
  only-base / only-new   written by one build only (a file added or removed)
  keys                   JSON whose shared keys agree; keys added or removed only (new fields)
  last-bits              same structure, every differing number within 1e-9 relative
  numbers                same structure, numbers differ beyond 1e-9 (the largest is printed)
  text                   lines of text differ (a report's wording or a changed table)
Prints one line per file and a count per class; exit status 0.

--changes lists the changes themselves, each with the number of files it occurs in, most
frequent first: a JSON key added or removed (by path), a JSON value changed (numbers beyond or
within 1e-9), a CSV/TSV header's columns, and each added or removed text line with its numbers
masked. --causes FILE (lines `CAUSE<TAB>regex`, the regex matched against "file :: change",
first match wins; scripts/output-changes.tsv) counts the changes per cause and lists the ones no
cause explains (exit status 1 when there are any); notes/output-changes.md gives the reasons.
"""
import difflib
import json
import os
import re
import sys

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def rel(a, b):
    if a == b:
        return 0.0
    scale = max(abs(a), abs(b))
    return abs(a - b) / scale if scale > 0 else abs(a - b)


def compare_json(a, b, state):
    """Walks two parsed JSON values; records added/removed keys and number differences."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            if k not in a or k not in b:
                state["keys"] += 1
            else:
                compare_json(a[k], b[k], state)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for x, y in zip(a, b):
            compare_json(x, y, state)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        state["num"] = max(state["num"], rel(float(a), float(b)))
    elif a != b:
        state["other"] += 1


def compare_text(a, b):
    """Returns the largest relative difference of numbers when the texts differ only in numbers, else None."""
    la, lb = a.splitlines(), b.splitlines()
    if len(la) != len(lb):
        return None
    worst = 0.0
    for x, y in zip(la, lb):
        if x == y:
            continue
        if NUMBER.sub("#", x) != NUMBER.sub("#", y):
            return None
        for p, q in zip(NUMBER.findall(x), NUMBER.findall(y)):
            worst = max(worst, rel(float(p), float(q)))
    return worst


def classify(base, new):
    if base is None:
        return "only-new", ""
    if new is None:
        return "only-base", ""
    with open(base, errors="replace") as f:
        a = f.read()
    with open(new, errors="replace") as f:
        b = f.read()
    if base.endswith(".json"):
        try:
            ja, jb = json.loads(a), json.loads(b)
        except ValueError:
            ja = jb = None
        if ja is not None:
            state = {"keys": 0, "num": 0.0, "other": 0}
            compare_json(ja, jb, state)
            if state["other"] == 0 and state["num"] == 0.0 and state["keys"] > 0:
                return "keys", f"{state['keys']} keys added or removed"
            if state["other"] == 0 and state["keys"] == 0:
                cls = "last-bits" if state["num"] <= 1e-9 else "numbers"
                return cls, f"max rel {state['num']:.2g}"
            return "text", f"{state['other']} values, {state['keys']} keys, max rel {state['num']:.2g}"
    worst = compare_text(a, b)
    if worst is None:
        return "text", ""
    return ("last-bits" if worst <= 1e-9 else "numbers"), f"max rel {worst:.2g}"


def flatten(value, path=""):
    """Leaf paths of a parsed JSON value (list indices dropped) with their values."""
    out = {}
    if isinstance(value, dict):
        for k, x in value.items():
            out.update(flatten(x, f"{path}.{k}"))
    elif isinstance(value, list):
        for x in value:
            if isinstance(x, (dict, list)):
                out.update(flatten(x, path + "[]"))
            else:
                out.setdefault(path + "[]", x)
    else:
        out[path] = value
    return out


def changes(base, new, name):
    """The changes between two versions of one file, as masked one-line descriptions."""
    if base is None or new is None:
        return [("only-new " if base is None else "only-base ") + "*/" + os.path.basename(name)]
    with open(base, errors="replace") as f:
        a = f.read()
    with open(new, errors="replace") as f:
        b = f.read()
    if name.endswith(".png"):
        return ["png image"]
    if name.endswith(".json") or (a.lstrip().startswith("{") and b.lstrip().startswith("{")):
        try:
            # check-identical.sh blanks timings to T.
            fa, fb = (flatten(json.loads(re.sub(r": T\b", ": null", x))) for x in (a, b))
        except ValueError:
            fa = fb = None
        if fa is not None:
            found = [f"json key removed {k}" for k in set(fa) - set(fb)] + [f"json key added {k}" for k in set(fb) - set(fa)]
            for k in set(fa) & set(fb):
                x, y = fa[k], fb[k]
                if x == y:
                    continue
                if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
                    found.append(f"json number {'last bits' if rel(float(x), float(y)) <= 1e-9 else 'changed'} {k}")
                else:
                    found.append(f"json value {k}: {str(x)[:40]} -> {str(y)[:40]}")
            return found
    la, lb = a.splitlines(), b.splitlines()
    sep = "," if name.endswith(".csv") else "\t"
    if name.endswith((".csv", ".tsv")) and la and lb and la[0] != lb[0]:
        ca, cb = la[0].split(sep), lb[0].split(sep)
        return [f"columns -{','.join(c for c in ca if c not in cb)} +{','.join(c for c in cb if c not in ca)}"]
    # A removed and an added line that differ only in their numbers are one change of numbers.
    removed, added = [], []
    for line in difflib.unified_diff(la, lb, lineterm="", n=0):
        if not line.startswith(("---", "+++", "@@")):
            (removed if line[0] == "-" else added).append(line[1:])
    found, unpaired = [], []
    pool = {}
    for line in added:
        pool.setdefault(NUMBER.sub("#", line), []).append(line)
    for line in removed:
        key = NUMBER.sub("#", line)
        if pool.get(key):
            other = pool[key].pop(0)
            worst = max((rel(float(p), float(q)) for p, q in zip(NUMBER.findall(line), NUMBER.findall(other))), default=0.0)
            found.append(f"numbers {'last bits' if worst <= 1e-9 else 'changed'}: {key.strip()[:160]}")
        else:
            unpaired.append("- " + key.strip()[:160])
    unpaired += ["+ " + NUMBER.sub("#", line).strip()[:160] for lines in pool.values() for line in lines]
    return found + unpaired


def main():
    args = sys.argv[1:]
    causes = []
    if "--causes" in args:
        i = args.index("--causes")
        with open(args[i + 1]) as f:
            causes = [line.rstrip("\n").split("\t", 1) for line in f if line.strip() and not line.startswith("#")]
        causes = [(cause, re.compile(pattern)) for cause, pattern in causes]
        del args[i:i + 2]
    listing = "--changes" in args or bool(causes)
    run = [a for a in args if a != "--changes"][0]
    roots = {side: os.path.join(run, side) for side in ("base", "new")}
    files = set()
    for side, root in roots.items():
        for d, _, names in os.walk(root):
            for n in names:
                files.add(os.path.relpath(os.path.join(d, n), root))
    counts, found = {}, {}
    for name in sorted(files):
        paths = {s: os.path.join(r, name) for s, r in roots.items()}
        exists = {s: os.path.exists(p) for s, p in paths.items()}
        if exists["base"] and exists["new"]:
            with open(paths["base"], "rb") as f, open(paths["new"], "rb") as g:
                if f.read() == g.read():
                    continue
        sides = (paths["base"] if exists["base"] else None, paths["new"] if exists["new"] else None)
        if listing:
            for change in set(changes(*sides, name)):
                found.setdefault(change, []).append(name)
            continue
        cls, detail = classify(*sides)
        counts[cls] = counts.get(cls, 0) + 1
        print(f"{cls:10} {name} {detail}")
    if causes:
        # Each (file, change) pair goes to the first cause whose pattern matches "file :: change".
        counted, unexplained = {}, []
        for change, names in found.items():
            for name in names:
                cause = next((c for c, pattern in causes if pattern.search(f"{name} :: {change}")), None)
                if cause is None:
                    unexplained.append(f"{name} :: {change}")
                else:
                    counted.setdefault(cause, set()).add(name)
                    counted[cause + " (changes)"] = counted.get(cause + " (changes)", set()) | {f"{name} :: {change}"}
        for cause, _ in causes:
            if cause in counted:
                print(f"{cause}: {len(counted[cause + ' (changes)'])} changes in {len(counted[cause])} files")
        print(f"unexplained: {len(unexplained)} changes")
        for line in sorted(unexplained):
            print("  " + line[:220])
        sys.exit(1 if unexplained else 0)
    if listing:
        for change, names in sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            print(f"{len(names):4d}  {change}  [{', '.join(names[:3])}{' ...' if len(names) > 3 else ''}]")
        return
    print("classes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
