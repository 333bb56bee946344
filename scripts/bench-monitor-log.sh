#!/usr/bin/env bash
# Memory of build-time-monitor's log reading, one command:
#
#   scripts/bench-monitor-log.sh
#
# Writes events/logs/generate-long-log.py's 100,000-line build log (8.9 MB, real formats) and the
# 152-line events/logs/buildkit-partly-cached.log to the emulator's CloudWatch Logs, and reads each
# as the monitor does (functions/build-time-monitor/examples/read_log.rs: GetLogEvents page by page,
# each event scanned as it arrives) with the default bounds (20 pages, 16 MB) and with a tight one
# (MONITOR_LOG_MAX_PAGES=2: the head, then the last page). Reported: pages, bytes, what was found,
# and the peak RSS of each run: bounded memory means the 100,000-line log costs about what the short
# log costs plus one page, not the log's size.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="$(mktemp -d)"
bash scripts/emulator.sh install >/dev/null
export EMULATOR_STATE="$OUT/emulator"
eval "$(bash scripts/emulator.sh start)"
trap 'bash scripts/emulator.sh stop; rm -rf "$OUT"' EXIT
echo "== building the reader (dev profile)" >&2
cargo build --quiet -p build-time-monitor --example read_log
PY="$ROOT/.venv/bin/python"
"$PY" events/logs/generate-long-log.py "$OUT/long.log"
"$PY" scripts/bench/put_log.py "$OUT/long.log" /aws/codebuild/bench long
"$PY" scripts/bench/put_log.py events/logs/buildkit-partly-cached.log /aws/codebuild/bench short
export RUST_LOG=error
READ="$ROOT/target/debug/examples/read_log"
run() { # LABEL STREAM [VAR=VALUE...]
  local label="$1" stream="$2"; shift 2
  env "$@" "$READ" /aws/codebuild/bench "$stream" > "$OUT/$label.json"
  "$PY" - "$OUT/$label.json" "$label" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
read, found = r["read"], r["found"]
docker = found.get("docker") or {}
print(f"{sys.argv[2]:<28} pages {read['pages']:>2}, events {read['events']:>6}, {read['bytes'] / 1e6:5.2f} MB read, "
      f"complete {str(read['complete']):<5}, tail {str(read['tail_read']):<5} | restored {found['restored']}, "
      f"upload logged {found['upload_logged']}, steps cached {docker.get('cached')}/{(docker.get('cached') or 0) + (docker.get('rebuilt') or 0)} "
      f"| peak RSS {r['peak_rss_kib'] / 1024:.1f} MiB, {r['seconds']:.2f} s")
PYEOF
}
echo "log file sizes: $(wc -c < "$OUT/long.log") bytes (100,000 lines), $(wc -c < events/logs/buildkit-partly-cached.log) bytes (152 lines)"
run "152 lines, default bounds" short
run "100,000 lines, default" long
run "100,000 lines, 2 pages" long MONITOR_LOG_MAX_PAGES=2
run "100,000 lines, 64KB" long MONITOR_LOG_MAX_BYTES=64KB
