"""Prints the pruner benchmark's tables (Markdown) from the driver's results.json and the planner-only
runs. Usage: python report.py OUT_DIR"""

import json
import math
import os
import sys


def ceil_k(n):
    return math.ceil(n / 1000)


def calls_of(result):
    """(list, delete, discovery) calls: S3 ones as the fake counted them, CodeBuild ones as the
    process reported them (the CodeBuild emulator does not count)."""
    counts, own = result["counts"], result["report"].get("api_calls", {})
    lists = counts.get("s3:ListObjectsV2", 0)
    deletes = counts.get("s3:DeleteObjects", 0)
    discovery = counts.get("s3:ListObjectsV2(delimiter)", 0) + sum(v for k, v in own.items() if k.startswith("codebuild:"))
    other = {k: v for k, v in counts.items() if k not in ("s3:ListObjectsV2", "s3:DeleteObjects", "s3:ListObjectsV2(delimiter)")}
    return lists, deletes, discovery, other


def main(out):
    data = json.load(open(os.path.join(out, "results.json")))
    results = data["results"]
    by = {(r["kind"], r["objects"], r["latency_ms"]): r for r in results}
    pairs = sorted({(r["objects"], r["latency_ms"]) for r in results if r["kind"] == "sequential"})
    print(f"Data: {data['locations']} cache locations of Zipf-skewed sizes, ages uniform over 0-90 days; policy: keep 3, max age 30 d, min age 24 h.\n")
    print("The peer's round-trip floor is its calls x the latency: the time a sequential pruner with no CPU")
    print("cost at all would take; the last ratio is cache-pruner against that floor.\n")
    print("| objects | ms per request | cache-pruner | sequential peer | ratio | peer's round-trip floor | ratio to the floor | peak RSS cache-pruner | peak RSS peer |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for objects, latency in pairs:
        p, s = by[("cache-pruner", objects, latency)], by[("sequential", objects, latency)]
        floor = sum(calls_of(s)[:3]) * latency / 1000
        to_floor = f"{floor / p['wall_s']:.2f}x" if latency else "-"
        print(
            f"| {objects:,} | {latency} | {objects / p['wall_s']:,.0f} obj/s ({p['wall_s']:.1f} s) | {objects / s['wall_s']:,.0f} obj/s ({s['wall_s']:.1f} s) "
            f"| {s['wall_s'] / p['wall_s']:.2f}x | {floor:.1f} s | {to_floor} | {p['rss_kib'] / 1024:.1f} MiB | {s['rss_kib'] / 1024:.1f} MiB |"
        )
    loads = [r["load"] for r in results if "load" in r]
    if loads:
        print(f"\nLoad average (1 min) at the end of each run: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores.")
    print("\nAPI calls (list / delete / discovery; the minimum: ceil(listed/1000) list, or the sum over locations of")
    print("ceil(objects/1000) for a pruner that lists each location; ceil(deleted/1000) delete):\n")
    print("| objects | deleted | cache-pruner | sequential peer | minimum | per-location list minimum | other calls (cache-pruner) |")
    print("|---:|---:|---|---|---|---:|---|")
    seen = set()
    for objects, latency in pairs:
        if objects in seen:
            continue  # the calls do not depend on the latency
        seen.add(objects)
        p, s = by[("cache-pruner", objects, latency)], by[("sequential", objects, latency)]
        deleted = objects - p["digest"]["objects"]
        pl, pd, pdisc, pother = calls_of(p)
        sl, sd, sdisc, _ = calls_of(s)
        per_location = sum(ceil_k(n) for n in data["location_sizes"][str(objects)])
        print(
            f"| {objects:,} | {deleted:,} | {pl:,} / {pd:,} / {pdisc} | {sl:,} / {sd:,} / {sdisc} | {ceil_k(objects):,} / {ceil_k(deleted):,} / - "
            f"| {per_location:,} | {', '.join(f'{k} {v}' for k, v in sorted(pother.items())) or '-'} |"
        )
    growth = sorted((r for r in results if r["kind"] == "cache-pruner" and r["latency_ms"] == data["growth_latency_ms"]), key=lambda r: r["objects"])
    if growth:
        print(f"\nGrowth of cache-pruner's time at {data['growth_latency_ms']} ms per request (linear: the time per 100k more")
        print("objects stays the same; the first run's time is mostly start-up and discovery):\n")
        print("| objects | wall time | per 100k objects | per 100k more than the previous row | peak RSS |")
        print("|---:|---:|---:|---:|---:|")
        previous = None
        for r in growth:
            per = r["wall_s"] / r["objects"] * 100_000
            marginal = "-" if previous is None else f"{(r['wall_s'] - previous['wall_s']) / (r['objects'] - previous['objects']) * 100_000:.2f} s"
            print(f"| {r['objects']:,} | {r['wall_s']:.1f} s | {per:.2f} s | {marginal} | {r['rss_kib'] / 1024:.1f} MiB |")
            previous = r
    planner = sorted(f for f in os.listdir(out) if f.startswith("planner-") and f.endswith(".json"))
    if planner:
        print("\nPlanner only (no S3), synthetic objects streamed through the planner:\n")
        for name in planner:
            r = json.load(open(os.path.join(out, name)))
            kib = json.load(open(os.path.join(out, name.replace(".json", ".rss"))))
            print(
                f"- {r['objects']:,} objects, budget {r['budget']}, max age {r['max_age_days']} d: peak RSS {kib / 1024:.1f} MiB, "
                f"{r['seconds']:.2f} s ({r['objects_per_second']:,.0f} objects/s), planned {r['planned']:,}"
            )


if __name__ == "__main__":
    main(sys.argv[1])
