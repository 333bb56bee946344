#!/usr/bin/env bash
# Benchmark of cache-pruner where S3 is slow, side by side with a straightforward sequential peer.
#
#   bash scripts/bench-pruner.sh            # the full run (the table in docs/testing.md)
#   SIZES=10000 LATENCIES=0 GROWTH= SKIP_PLANNER=1 bash scripts/bench-pruner.sh   # a quick check
#
# Knobs (environment): SIZES (default "100000 1000000" objects), LATENCIES ("0 50 200" ms per S3
# request), GROWTH ("10000 100000 300000 1000000": cache-pruner's time growth at GROWTH_LATENCY_MS,
# default 50), LOCATIONS (300 cache locations of Zipf-skewed sizes), PLANNER_OBJECTS (1000000),
# SKIP_PLANNER=1. Variables the pruner reads (PRUNE_*) pass through to it.
#
# 1. End to end. S3 is scripts/bench/fake_s3.py (a sorted in-memory index, a fixed sleep per request
#    in the request's own thread, requests counted by operation; its answers are checked against
#    moto's by shared/tests/emulator/fake_s3_drift.rs). CodeBuild is moto (scripts/emulator.sh), with
#    one project per cache location (scripts/bench/codebuild_projects.py): AWS_ENDPOINT_URL_S3 and
#    AWS_ENDPOINT_URL_CODEBUILD point each client at its server. For each latency and size, the same
#    data (scripts/bench/dataset.py) is seeded before each run; cache-pruner runs once as a process
#    (functions/cache-pruner/examples/prune_local.rs, default policy, a scheduled sweep), then the
#    sequential boto3 peer (scripts/bench/sequential_pruner.py, the same policy); both must leave
#    exactly the same keys, or the benchmark fails. Reported: objects/s of each and the ratio, API
#    calls by operation against the minimum, peak RSS of each process (/usr/bin/time -v), and how
#    cache-pruner's time grows with the number of objects.
# 2. Planner only: PLANNER_OBJECTS synthetic objects through the planner without S3
#    (examples/bench_planner.rs), no budget, a project budget, a total budget, and the total
#    budget's worst case: peak RSS and planning throughput.
#
# Binaries: release profile with LTO off and 16 codegen units, to keep the build short on a shared
# machine; the Lambda's build adds fat LTO and opt-level "z", which change code size and speed a
# little, not the calls the pruner makes or the data it holds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"
PLANNER_OBJECTS="${PLANNER_OBJECTS:-1000000}"
export LOCATIONS="${LOCATIONS:-300}"
OUT="$(mktemp -d)"
export EMULATOR_STATE="$ROOT/.emulator/bench-$$"
cleanup() { bash scripts/emulator.sh stop >/dev/null 2>&1 || true; rm -rf "$EMULATOR_STATE"; }
trap cleanup EXIT

bash scripts/emulator.sh install >/dev/null
PY="$ROOT/.venv/bin/python"
echo "== building (release, LTO off)" >&2
CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo build --release --quiet -p cache-pruner --examples
BIN="$ROOT/target/release/examples"

# CodeBuild (and SNS, never called without NOTIFY_TOPIC_ARN) on moto; S3 on the fake, per run.
eval "$(bash scripts/emulator.sh start)"
export AWS_ENDPOINT_URL_CODEBUILD="$AWS_ENDPOINT_URL" AWS_ENDPOINT_URL_SNS="$AWS_ENDPOINT_URL"
unset AWS_ENDPOINT_URL
export AWS_REGION=ap-south-1 AWS_DEFAULT_REGION=ap-south-1
"$PY" scripts/bench/codebuild_projects.py --bucket bench-cache --locations "$LOCATIONS" >&2

"$PY" scripts/bench/driver.py "$OUT" "$BIN/prune_local"

if [ "${SKIP_PLANNER:-0}" != 1 ]; then
  echo "== planner only: $PLANNER_OBJECTS synthetic objects" >&2
  planner() { # NAME ARGS...
    local name="$1"; shift
    /usr/bin/time -v "$BIN/bench_planner" "$@" > "$OUT/planner-$name.json" 2> "$OUT/planner-$name.time"
    awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/planner-$name.time" > "$OUT/planner-$name.rss"
  }
  planner none "$PLANNER_OBJECTS" 100 none
  planner project "$PLANNER_OBJECTS" 100 project
  planner total "$PLANNER_OBJECTS" 100 total
  # Worst case for the total budget: no object old enough for the age rule, all are candidates.
  planner worst "$PLANNER_OBJECTS" 100 total 3650
fi

echo "== measured on $(git rev-parse --short HEAD) ($(date -u +%Y-%m-%d)), $(nproc) cores; results in $OUT" >&2
"$PY" scripts/bench/report.py "$OUT"
