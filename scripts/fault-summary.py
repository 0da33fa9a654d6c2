#!/usr/bin/env python3
"""Summarizes the fault-injection suite's trials as the Markdown table in
docs/reliability.md.

    FAULT_REPORT=/some/file make faults   # or faults-long
    scripts/fault-summary.py /some/file
"""
import json
import statistics
import sys


def phase(trial):
    """Where in the apply the kill landed: the old resources are destroyed
    in the first half second, the new ones created in the next second (their
    traces appear at its end), then OpenTofu writes its state and the
    provider stores it."""
    if trial["where"] not in ("host", "image"):
        return None
    n = trial["traces_at_kill"]
    if n == 6:
        return "after the creates: OpenTofu ending, the state being stored, or done"
    if n > 0:
        return "as the new resources were being completed"
    if trial["kill_after_ms"] < 500:
        return "while the old resources were being destroyed"
    return "while the new resources were being created"


def main(path):
    trials = [json.loads(line) for line in open(path) if line.strip()]
    groups = {}
    for t in trials:
        groups.setdefault(t["where"], []).append(t)
    print("| fault | trials | lost or duplicated | state recovered from the working folder "
          "| tainted objects replaced | recovery (median / max) |")
    print("|---|---|---|---|---|---|")
    for where, ts in groups.items():
        times = [t["recovery_s"] for t in ts]
        failed = sum(1 for t in ts if t["failure"])
        recovered = sum(1 for t in ts if t["recovered_state"])
        tainted = sum(t.get("tainted_replaced", 0) for t in ts)
        print(f"| {where} | {len(ts)} | {failed} | {recovered} | {tainted} "
              f"| {statistics.median(times):.1f} s / {max(times):.1f} s |")
    kills = [t for t in trials if phase(t)]
    if kills:
        print()
        print("| where the kill landed | trials |")
        print("|---|---|")
        counts = {}
        for t in kills:
            counts[phase(t)] = counts.get(phase(t), 0) + 1
        order = ["while the old resources were being destroyed",
                 "while the new resources were being created",
                 "as the new resources were being completed",
                 "after the creates: OpenTofu ending, the state being stored, or done"]
        for name in order:
            if name in counts:
                print(f"| {name} | {counts[name]} |")


if __name__ == "__main__":
    main(sys.argv[1])
