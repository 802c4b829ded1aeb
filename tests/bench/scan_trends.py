#!/usr/bin/env python3
"""The obvious alternative to `report trends` a user has today: scan every build-analysis log in
$CARGO_HOME/log and count the root rebuilds per unit and cause.

A root rebuild is a dirty unit none of whose direct dependencies was rebuilt (dirty or new):
cargo's definition, as in `cargo report rebuilds`. Causes are grouped the way `report trends`
groups them: a changed file by its path (relative to the workspace), an environment variable by
its name, anything else by cargo's kind. Lines that cannot matter are skipped before they are
parsed, as anyone who wrote this for speed would.

Usage: scan_trends.py LOG_DIR [TOP=10]
Prints `<unit> rebuilt N times: <cause> xK, ...`, most rebuilt first.
"""
import collections
import json
import os
import sys

WANTED = ('"reason":"build-started"', '"reason":"unit-registered"', '"reason":"unit-fingerprint"')


def package_name(package_id):
    # registry+https://...#serde@1.0.1, path+file:///ws/wsapp#0.1.0, path+file:///ws/x#name@1.0
    frag = package_id.rsplit("#", 1)[-1]
    if "@" in frag:
        return frag.split("@", 1)[0]
    path = package_id.rsplit("#", 1)[0]
    return path.rstrip("/").rsplit("/", 1)[-1]


def relative(path, root):
    if root and (path == root or path.startswith(root.rstrip("/") + "/")):
        return path[len(root.rstrip("/")) + 1:]
    return path


def cause_label(cause, root):
    kind = cause.get("dirty_reason", "")
    if kind == "env-var-changed":
        return "environment variable changed (%s)" % cause.get("name", "")
    if kind == "fs-status-outdated" and cause.get("fs_status") == "stale-item":
        item = cause.get("stale_item")
        if item == "changed-file":
            return "file modified: " + relative(cause.get("stale", ""), root)
        if item == "changed-env":
            return "environment variable changed (%s)" % cause.get("var", "")
        return item + ": " + relative(cause.get("path", ""), root)
    return kind


def scan(path, counts):
    root = ""
    units = {}
    status = {}
    causes = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not any(w in line for w in WANTED):
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            reason = e.get("reason")
            if reason == "build-started":
                root = e.get("workspace_root", "")
            elif reason == "unit-registered":
                target = e.get("target", {})
                units[e["index"]] = (
                    package_name(e.get("package_id", "")),
                    target.get("name", ""),
                    target.get("kind", ""),
                    e.get("mode", ""),
                    e.get("dependencies", []),
                )
            elif reason == "unit-fingerprint":
                status[e["index"]] = e.get("status")
                if "cause" in e:
                    causes[e["index"]] = e["cause"]
    rebuilt = {i for i, s in status.items() if s in ("dirty", "new")}
    for index, s in status.items():
        if s != "dirty" or index not in units:
            continue
        name, target, kind, mode, deps = units[index]
        if any(d in rebuilt for d in deps):
            continue
        unit = "%s %s %s %s" % (name, target, kind, mode)
        counts[unit][cause_label(causes.get(index, {}), root)] += 1


def main():
    log_dir = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    counts = collections.defaultdict(collections.Counter)
    for name in sorted(os.listdir(log_dir)):
        if name.endswith(".jsonl"):
            scan(os.path.join(log_dir, name), counts)
    ranked = sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    for unit, by_cause in ranked[:top]:
        parts = ", ".join("%s x%d" % (c, n) for c, n in by_cause.most_common())
        print("%s rebuilt %d times: %s" % (unit, sum(by_cause.values()), parts))


if __name__ == "__main__":
    main()
