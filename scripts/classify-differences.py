#!/usr/bin/env python3
"""Classifies the differences check-identical.sh found between two run trees (KEEP=1 keeps them).

Usage: scripts/classify-differences.py RUN_DIR   (RUN_DIR holds base/ and new/)

Every file that differs gets one class, the first that fits:
  only-base / only-new   written by one build only (a file added or removed)
  keys                   JSON whose shared keys agree; keys added or removed only (new fields)
  last-bits              same structure, every differing number within 1e-9 relative
  numbers                same structure, numbers differ beyond 1e-9 (the largest is printed)
  text                   lines of text differ (a report's wording or a changed table)
Prints one line per file and a count per class; exit status 0.
"""
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


def main():
    run = sys.argv[1]
    roots = {side: os.path.join(run, side) for side in ("base", "new")}
    files = set()
    for side, root in roots.items():
        for d, _, names in os.walk(root):
            for n in names:
                files.add(os.path.relpath(os.path.join(d, n), root))
    counts = {}
    for name in sorted(files):
        paths = {s: os.path.join(r, name) for s, r in roots.items()}
        exists = {s: os.path.exists(p) for s, p in paths.items()}
        if exists["base"] and exists["new"]:
            with open(paths["base"], "rb") as f, open(paths["new"], "rb") as g:
                if f.read() == g.read():
                    continue
        cls, detail = classify(paths["base"] if exists["base"] else None, paths["new"] if exists["new"] else None)
        counts[cls] = counts.get(cls, 0) + 1
        print(f"{cls:10} {name} {detail}")
    print("classes: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
