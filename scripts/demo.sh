#!/usr/bin/env bash
# The main job, end to end, against the local emulator: the three functions run behind the Lambda
# Runtime API (cargo lambda watch) and are invoked with the sample events, as EventBridge would.
#   1. cache-guard heals tts-service-build from LOCAL_DOCKER_LAYER_CACHE to the S3 cache
#   2. cache-pruner prunes stale cache objects (dry run first, then for real)
#   3. build-time-monitor reports a slow build; the email is printed as a subscriber receives it
#   4. build-time-monitor's weekly digest of a week of builds, as the subscriber receives it
#   5. cache-sentinel audit (the CLI) over the emulator's projects
#   6. cache-sentinel audit --accounts: two more accounts read through their audit role
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"

PROJECT=tts-service-build
ACCOUNT=123456789012
export AWS_REGION=ap-south-1
BUCKET="codebuild-cache-$ACCOUNT-$AWS_REGION"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Starting the local AWS emulator (moto, pinned, installed into .venv on first use)"
bash scripts/emulator.sh install
# An emulator of its own, fresh (no state from earlier runs), on a free port.
export EMULATOR_STATE="$ROOT/.emulator/demo-$$"
eval "$(bash scripts/emulator.sh start)"
WATCH_PID=""
cleanup() {
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null || true
  bash scripts/emulator.sh stop
  rm -rf "$EMULATOR_STATE"
}
trap cleanup EXIT
echo "emulator at $AWS_ENDPOINT_URL (dummy credentials; nothing reaches real AWS)"

say "Building the functions"
cargo build --workspace --bins --quiet

AWS="$ROOT/.venv/bin/python scripts/demo/aws.py"
TOPIC="$($AWS setup "$PROJECT" "$BUCKET" cache-sentinel-demo)"
INVOKE_PORT="$(free_port)"
# The functions' stdout (JSON logs, metric lines), as Lambda would send it to CloudWatch Logs.
mkdir -p "$ROOT/.emulator" && : > "$ROOT/.emulator/watch.out"

# Serve the functions through the Lambda Runtime API with the given configuration.
serve() {
  [ -n "$WATCH_PID" ] && { kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; }
  env CACHE_BUCKET="$BUCKET" NOTIFY_TOPIC_ARN="$TOPIC" RUST_LOG=warn "$@" \
    cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --ignore-changes >>"$ROOT/.emulator/watch.out" 2>"$ROOT/.emulator/watch.log" &
  WATCH_PID=$!
  for _ in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$INVOKE_PORT") 2>/dev/null && return; sleep 0.1; done
  echo "cargo lambda watch did not start; see .emulator/watch.log" >&2; exit 1
}
invoke() { # FUNCTION EVENT_FILE
  cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --data-file "$2" --output-format json
}

# shellcheck source=scripts/demo/guard.sh
. scripts/demo/guard.sh
# shellcheck source=scripts/demo/pruner.sh
. scripts/demo/pruner.sh
# shellcheck source=scripts/demo/monitor.sh
. scripts/demo/monitor.sh

# shellcheck source=scripts/demo/digest.sh
. scripts/demo/digest.sh

# shellcheck source=scripts/demo/cli.sh
. scripts/demo/cli.sh

# shellcheck source=scripts/demo/org.sh
. scripts/demo/org.sh

say "Done. Every function ran behind the Lambda Runtime API against the emulator; nothing reached AWS."
