#!/usr/bin/env bash
# Benchmark of cache-pruner, one command:
#
#   scripts/bench-pruner.sh [OBJECTS=100000] [PROJECTS=100] [LATENCY_MS=0]
#
# 1. End to end against an emulator: a moto server (scripts/bench/pruner_server.py) seeded
#    in-process with OBJECTS objects across PROJECTS cache locations (every tenth an orphan: its
#    project deleted, its location missing for 30 days in the pruner's state; ages uniform over
#    0-90 days), optionally LATENCY_MS added to every request.
#    The pruner runs once as a process (examples/prune_local.rs, default policy: keep 3, max age 30
#    days, min age 24 h, orphan grace 7 days) under /usr/bin/time -v. Reported: wall time, API calls
#    by operation (counted by the server, and by the pruner itself), peak RSS of the pruner process.
#    What it measures: the pruner's own CPU, memory and call pattern; moto's speed dominates the wall
#    time (a local Python server is neither S3's latency nor its throughput).
# 2. Planner only, PLANNER_OBJECTS (default 1,000,000) synthetic objects streamed through the
#    planner without S3 (examples/bench_planner.rs), with no budget, a project budget and a total
#    budget: peak RSS of the process and planning throughput.
#
# Binaries: release profile (opt-level "z", as Cargo.toml sets it) with LTO off to keep the build short; the Lambda's own
# build adds fat LTO, which changes code size and speed a little, not the data the pruner holds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"
OBJECTS="${1:-100000}"
PROJECTS="${2:-100}"
LATENCY_MS="${3:-0}"
PLANNER_OBJECTS="${PLANNER_OBJECTS:-1000000}"
OUT="$(mktemp -d)"
SERVER_PID=""
cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

bash scripts/emulator.sh install >/dev/null
PY="$ROOT/.venv/bin/python"
echo "== building (release, LTO off)" >&2
CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo build --release --quiet -p cache-pruner --examples
BIN="$ROOT/target/release/examples"

peak_rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
wall() { awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$1"; }

PORT="$(free_port)"
BUCKET="bench-cache"
echo "== seeding $OBJECTS objects across $PROJECTS projects (latency ${LATENCY_MS} ms per request)" >&2
"$PY" scripts/bench/pruner_server.py --port "$PORT" --bucket "$BUCKET" --objects "$OBJECTS" \
  --projects "$PROJECTS" --latency-ms "$LATENCY_MS" > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1800); do
  grep -q '"seeded"' "$OUT/server.log" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
  sleep 1
done
grep '"seeded"' "$OUT/server.log" >&2

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=ap-south-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  CACHE_BUCKET="$BUCKET" RUST_LOG=warn

echo "== end to end: one sweep of $OBJECTS objects" >&2
/usr/bin/time -v "$BIN/prune_local" > "$OUT/report.json" 2> "$OUT/time.txt" || { cat "$OUT/time.txt" >&2; exit 1; }
curl -s "http://127.0.0.1:$PORT/_bench/counts" > "$OUT/counts.json"

echo "== planner only: $PLANNER_OBJECTS synthetic objects" >&2
for budget in none project total; do
  /usr/bin/time -v "$BIN/bench_planner" "$PLANNER_OBJECTS" 100 "$budget" > "$OUT/planner-$budget.json" 2> "$OUT/planner-$budget.txt"
done
# Worst case for the total budget: no object old enough for the age rule, all are candidates.
/usr/bin/time -v "$BIN/bench_planner" "$PLANNER_OBJECTS" 100 total 3650 > "$OUT/planner-worst.json" 2> "$OUT/planner-worst.txt"

"$PY" - "$OUT" "$OBJECTS" "$PROJECTS" "$LATENCY_MS" "$(wall "$OUT/time.txt")" "$(peak_rss "$OUT/time.txt")" \
  "$(peak_rss "$OUT/planner-none.txt")" "$(peak_rss "$OUT/planner-project.txt")" "$(peak_rss "$OUT/planner-total.txt")" \
  "$(peak_rss "$OUT/planner-worst.txt")" <<'PYEOF'
import json, sys
out, objects, projects, latency, wall, rss, p_none, p_project, p_total, p_worst = sys.argv[1:]
report = json.load(open(f"{out}/report.json"))
counts = json.load(open(f"{out}/counts.json"))
print(f"end to end ({objects} objects, {projects} projects, +{latency} ms per request, moto server)")
print(f"  wall time (pruner process):   {wall}  (report: {report['seconds']:.2f} s)")
print(f"  peak RSS (pruner process):    {int(rss)/1024:.1f} MiB")
print(f"  scanned {report['scanned']}, deleted {report['deleted']}, failed {report['failed']}, finished {report['finished']}")
print(f"  by reason: {json.dumps(report['by_reason'])}")
print(f"  API calls counted by the server: {json.dumps(counts, sort_keys=True)}")
print(f"  API calls counted by the pruner: {json.dumps(report['api_calls'], sort_keys=True)}")
print(f"  minimum: ceil(listed/1000) = {-(-report['scanned'] // 1000)} list, ceil(deleted/1000) = {-(-report['deleted'] // 1000)} delete")
for budget, kib in (("none", p_none), ("project", p_project), ("total", p_total), ("worst", p_worst)):
    r = json.load(open(f"{out}/planner-{budget}.json"))
    print(f"planner only ({r['objects']} synthetic objects, budget {r['budget']}, max age {r['max_age_days']} d): peak RSS {int(kib)/1024:.1f} MiB, "
          f"{r['seconds']:.2f} s ({r['objects_per_second']:.0f} objects/s), planned {r['planned']}")
PYEOF
