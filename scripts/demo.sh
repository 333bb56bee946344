#!/usr/bin/env bash
# The main job, end to end, against the local emulator: the three functions run behind the Lambda
# Runtime API (cargo lambda watch) and are invoked with the sample events, as EventBridge would.
#   1. cache-guard heals tts-service-build from LOCAL_DOCKER_LAYER_CACHE to the S3 cache
#   2. cache-pruner prunes stale cache objects (dry run first, then for real)
#   3. build-time-monitor reports a slow build; the email is printed as a subscriber receives it
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

# Serve the functions through the Lambda Runtime API with the given configuration.
serve() {
  [ -n "$WATCH_PID" ] && { kill "$WATCH_PID" 2>/dev/null || true; wait "$WATCH_PID" 2>/dev/null || true; }
  env CACHE_BUCKET="$BUCKET" NOTIFY_TOPIC_ARN="$TOPIC" RUST_LOG=warn "$@" \
    cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --ignore-changes >/dev/null 2>"$ROOT/.emulator/watch.log" &
  WATCH_PID=$!
  for _ in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$INVOKE_PORT") 2>/dev/null && return; sleep 0.1; done
  echo "cargo lambda watch did not start; see .emulator/watch.log" >&2; exit 1
}
invoke() { # FUNCTION EVENT_FILE
  cargo lambda invoke "$1" --invoke-address 127.0.0.1 --invoke-port "$INVOKE_PORT" --data-file "$2" --output-format json
}

say "1. cache-guard"
echo "The project's cache, as the seed write-up checks it"
echo "(aws codebuild batch-get-projects --names $PROJECT --query 'projects[0].cache'):"
echo "Before:"; $AWS cache "$PROJECT"
serve
echo; echo "EventBridge delivers events/build-in-progress.json (build of $PROJECT started) to cache-guard:"
invoke cache-guard events/build-in-progress.json
echo; echo "After:"; $AWS cache "$PROJECT"
echo; echo "The same event delivered again (EventBridge delivers at least once) changes nothing:"
invoke cache-guard events/build-in-progress.json | grep -E '"outcome"|"reason"'
echo; echo "What the SNS subscribers received:"
$AWS notices "$TOPIC"

say "2. cache-pruner"
echo "The cache bucket holds cache objects of tts-service-build of various ages, and the cache of"
echo "old-prototype-build, a project deleted from CodeBuild long ago (an orphan):"
$AWS seed-objects "$BUCKET" \
  tts-service-build/8a1f0c-layers.tgz:62:52428800 tts-service-build/5d2e7b-pip.tgz:41:10485760 \
  tts-service-build/c93a10-layers.tgz:12:52428800 tts-service-build/77be42-pip.tgz:5:10485760 \
  tts-service-build/1f4c9d-layers.tgz:2:52428800 tts-service-build/e0aa31-pip.tgz:0.1:10485760 \
  old-prototype-build/3b7d55-layers.tgz:40:20971520 old-prototype-build/9c2e18-pip.tgz:38:5242880
$AWS list-objects "$BUCKET"
echo
echo "Policy (defaults): keep the 3 newest of each project, delete older than 30 days, never younger"
echo "than 24 hours, orphans after 7 days. The daily sweep (events/scheduled-sweep.json), as a dry run:"
serve DRY_RUN=true
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune-dry.json"
.venv/bin/python -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({"dry_run": r["dry_run"], "scanned": r["scanned"], "planned": r["planned"], "deleted": r["deleted"], "bytes_planned": r["bytes_planned"], "versioning": r["versioning"], "plan": [d["key"] + "  (" + d["reason"] + ")" for d in r["deletions"]]}, indent=2))' "$ROOT/.emulator/prune-dry.json"
echo; echo "Nothing was deleted by the dry run:"; $AWS list-objects "$BUCKET"
echo; echo "The same sweep for real:"
serve
invoke cache-pruner events/scheduled-sweep.json > "$ROOT/.emulator/prune.json"
.venv/bin/python -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps({k: r[k] for k in r if k in ("scanned","deleted","bytes_freed","finished","errors")}, indent=2))' "$ROOT/.emulator/prune.json"
echo; echo "Left in the bucket:"; $AWS list-objects "$BUCKET"
echo; echo "The pruner's summary notice:"
$AWS notices "$TOPIC"
serve

say "3. build-time-monitor"
echo "EventBridge delivers events/build-succeeded.json: tts-service-build finished in 33 min 36 s."
invoke build-time-monitor events/build-succeeded.json | grep -E '"outcome"|"scenario"|"subject"|"expected' | head -8
echo; echo "Delivered again (at least once): the marker in the cache bucket keeps it to one email:"
invoke build-time-monitor events/build-succeeded.json | grep -E '"outcome"' | head -2
echo; echo "The email, as the SNS subscriber receives it:"
$AWS notices "$TOPIC"

say "Done. Every function ran behind the Lambda Runtime API against the emulator; nothing reached AWS."
