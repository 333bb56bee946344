#!/usr/bin/env bash
# Measures each function's stripped release binary size, start-up time (configuration + AWS
# clients, as logged by the function itself at cold start) and idle RSS (the process waiting for
# its first event on a Runtime API that never sends one). Targets: <= 8 MB (8,000,000 bytes) for
# the arm64 binary Lambda runs, <= 10 ms, <= 16 MB.
#
# The size judged is the arm64 bootstrap `sam build` made (.aws-sam/build/<Function>/bootstrap,
# from scripts/build-release.sh); start-up and RSS are measured on the host's release build, which
# is the one this machine can run, and its size is shown too (x86_64 code is larger; not judged).
#
#   bash scripts/bench-functions.sh [RUNS [FUNCTION...]]   (default 5 runs of all three; medians)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"
RUNS="${1:-5}"
FUNCTIONS=(cache-guard cache-pruner build-time-monitor)
[ $# -gt 1 ] && FUNCTIONS=("${@:2}")

for f in "${FUNCTIONS[@]}"; do cargo build --release -p "$f" --quiet; done
PORT="$(free_port)"
python3 scripts/bench/fake_runtime_api.py "$PORT" &
API_PID=$!
trap 'kill $API_PID 2>/dev/null || true' EXIT
sleep 0.3

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The template's logical id of each function: where sam build puts its arm64 bootstrap.
logical_id() {
  case "$1" in
    cache-guard) echo CacheGuardFunction ;;
    cache-pruner) echo CachePrunerFunction ;;
    build-time-monitor) echo BuildTimeMonitorFunction ;;
  esac
}

printf '%-20s %12s %12s %12s %14s\n' function "arm64 (MB)" "host (MB)" "init (ms)" "idle RSS (MiB)"
status=0
for f in "${FUNCTIONS[@]}"; do
  bin="target/release/$f"
  host_size=$(stat -c %s "$bin")
  arm="$ROOT/.aws-sam/build/$(logical_id "$f")/bootstrap"
  if [ -f "$arm" ]; then
    size=$(stat -c %s "$arm")
    echo "$f: arm64 size of $arm, built $(date -u -r "$arm" '+%Y-%m-%d %H:%M UTC') (scripts/build-release.sh rebuilds it)" >&2
  else
    echo "$f: no arm64 build in .aws-sam/build: run bash scripts/build-release.sh for the size Lambda runs" >&2
    size=""
  fi
  inits=(); rsss=()
  for _ in $(seq 1 "$RUNS"); do
    log="$(mktemp)"
    env -i PATH="$PATH" HOME="$HOME" \
      AWS_LAMBDA_RUNTIME_API="127.0.0.1:$PORT" AWS_LAMBDA_FUNCTION_NAME="$f" AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/$f" AWS_LAMBDA_LOG_STREAM_NAME=bench \
      AWS_REGION=ap-south-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true \
      CACHE_BUCKET=codebuild-cache-123456789012-ap-south-1 NOTIFY_TOPIC_ARN=arn:aws:sns:ap-south-1:123456789012:cache-sentinel \
      "$bin" > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do grep -q cold-start "$log" && break; sleep 0.02; done
    sleep 0.5
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    init_us=$(grep -o '"init_us":[0-9]*' "$log" | head -1 | cut -d: -f2)
    if [ -z "$init_us" ]; then echo "$f did not report cold start; its output:" >&2; cat "$log" >&2; exit 1; fi
    inits+=("$init_us"); rsss+=("$rss_kb"); rm -f "$log"
  done
  init=$(printf '%s\n' "${inits[@]}" | median); rss=$(printf '%s\n' "${rsss[@]}" | median)
  awk -v f="$f" -v s="$size" -v h="$host_size" -v i="$init" -v r="$rss" \
    'BEGIN {printf "%-20s %12s %12.2f %12.2f %14.2f\n", f, (s == "" ? "not built" : sprintf("%.2f", s/1000000)), h/1000000, i/1000, r/1024}'
  if [ -z "$size" ]; then status=2; elif [ "$size" -gt 8000000 ]; then status=1; fi
  if [ "$init" -gt 10000 ] || [ "$rss" -gt $((16*1024)) ]; then status=1; fi
done
case "$status" in
  0) echo "all within targets (arm64 <= 8 MB, <= 10 ms, <= 16 MB)" ;;
  1) echo "TARGET MISSED (see above)" ;;
  *) echo "start-up and RSS measured; the arm64 size not (no current arm64 build)" ;;
esac
exit "$status"
