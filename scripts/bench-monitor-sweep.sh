#!/usr/bin/env bash
# Benchmark of build-time-monitor's 5-minute sweep, one command:
#
#   scripts/bench-monitor-sweep.sh [PROJECTS=1000] [BUILDS=5000] [LATENCY_MS=0] [RUNNING=20]
#
# A moto server (scripts/bench/monitor_server.py: the project's emulator, CodeBuild listings in
# pages of 100 newest first) holds PROJECTS projects and BUILDS builds started over the last 7 days,
# RUNNING of them still in progress and overdue. One sweep runs as a process
# (functions/build-time-monitor/examples/monitor_sweep.rs, default configuration: 6-hour lookback).
# Reported: API calls by operation (counted by the server), wall time of the sweep, outcomes.
# LATENCY_MS adds a delay to every request, as AWS's round trips would (moto answers in ~1-3 ms).
# MODE=digest runs the weekly digest over the same account instead (examples/monitor_digest.rs, dry
# run): its calls, figures and wall time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"
PROJECTS="${1:-1000}"
BUILDS="${2:-5000}"
LATENCY_MS="${3:-0}"
RUNNING="${4:-20}"
OUT="$(mktemp -d)"
SERVER_PID=""
cleanup() { if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi; }
trap cleanup EXIT

bash scripts/emulator.sh install >/dev/null
PY="$ROOT/.venv/bin/python"
MODE="${MODE:-sweep}"
case "$MODE" in sweep|digest) ;; *) echo "MODE must be sweep or digest, not $MODE" >&2; exit 2 ;; esac
echo "== building the $MODE example (dev profile: it waits on the network, not the CPU)" >&2
cargo build --quiet -p build-time-monitor --example "monitor_$MODE"
PORT="$(free_port)"
echo "== seeding $PROJECTS projects and $BUILDS builds ($RUNNING running)" >&2
"$PY" scripts/bench/monitor_server.py --port "$PORT" --projects "$PROJECTS" --builds "$BUILDS" \
  --running "$RUNNING" --latency-ms "$LATENCY_MS" > "$OUT/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 1800); do
  grep -q '"seeded"' "$OUT/server.log" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
  sleep 1
done
grep '"seeded"' "$OUT/server.log" >&2

export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_REGION=ap-south-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  CACHE_BUCKET=bench-cache RUST_LOG=error
echo "== one $MODE (+$LATENCY_MS ms per request)" >&2
curl -s -X POST "http://127.0.0.1:$PORT/_bench/reset" > /dev/null
"$ROOT/target/debug/examples/monitor_$MODE" > "$OUT/report.json"
curl -s "http://127.0.0.1:$PORT/_bench/counts" > "$OUT/counts.json"
"$PY" - "$OUT" "$PROJECTS" "$BUILDS" "$LATENCY_MS" "$MODE" <<'PYEOF'
import json, sys
out, projects, builds, latency, mode = sys.argv[1:]
report = json.load(open(f"{out}/report.json"))
counts = json.load(open(f"{out}/counts.json"))
if mode == "digest":
    d = report["digest"]
    print(f"digest of {projects} projects, {builds} builds over 7 days, +{latency} ms per request (moto server)")
    print(f"  wall time of the digest: {report['seconds']:.2f} s, peak RSS {(report.get('peak_rss_kib') or 0) / 1024:.1f} MiB")
    print(f"  API calls: {sum(counts.values())} {json.dumps(counts, sort_keys=True)}")
    keys = ["outcome", "projects", "quiet", "builds", "slow", "minutes_over", "cost_usd", "subject"]
    print(f"  digest: {json.dumps({k: d.get(k) for k in keys})}")
    print(f"  read: {json.dumps(d['reading'], sort_keys=True)}")
    sys.exit(0)
print(f"sweep of {projects} projects, {builds} builds, +{latency} ms per request (moto server)")
print(f"  wall time of the sweep: {report['seconds']:.2f} s")
print(f"  API calls: {sum(counts.values())} {json.dumps(counts, sort_keys=True)}")
print(f"  outcomes: {json.dumps(report['outcomes'], sort_keys=True)}")
if report.get("sweep"):
    print(f"  sweep: {json.dumps(report['sweep'], sort_keys=True)}")
PYEOF
