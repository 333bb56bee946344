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
    print("| objects | ms per request | cache-pruner | sequential peer | ratio | peak RSS cache-pruner | peak RSS peer |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for objects, latency in pairs:
        p, s = by[("cache-pruner", objects, latency)], by[("sequential", objects, latency)]
        print(
            f"| {objects:,} | {latency} | {objects / p['wall_s']:,.0f} obj/s ({p['wall_s']:.1f} s) | {objects / s['wall_s']:,.0f} obj/s ({s['wall_s']:.1f} s) "
            f"| {s['wall_s'] / p['wall_s']:.2f}x | {p['rss_kib'] / 1024:.1f} MiB | {s['rss_kib'] / 1024:.1f} MiB |"
        )
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
        base = growth[0]
        print(f"\nGrowth of cache-pruner's time at {data['growth_latency_ms']} ms per request (linear: time/objects constant):\n")
        print("| objects | wall time | per 100k objects | vs. the smallest run | peak RSS |")
        print("|---:|---:|---:|---:|---:|")
        for r in growth:
            per = r["wall_s"] / r["objects"] * 100_000
            print(f"| {r['objects']:,} | {r['wall_s']:.1f} s | {per:.2f} s | {per / (base['wall_s'] / base['objects'] * 100_000):.2f}x | {r['rss_kib'] / 1024:.1f} MiB |")
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
