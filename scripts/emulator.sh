#!/usr/bin/env bash
# The local AWS emulator: moto in server mode (pinned, in a project-local virtualenv created on
# first use) with CodeBuild UpdateProject added, on a free loopback port.
#
#   scripts/emulator.sh install   create .venv and install the pinned tools
#   scripts/emulator.sh start     start the emulator; prints the environment to use it
#   scripts/emulator.sh stop      stop it
#   scripts/emulator.sh env       print the environment (export lines) of the running emulator
#
# No real credentials are used: the environment printed sets dummy ones.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# EMULATOR_STATE: where a running instance keeps its pid, port and log, so several can run at once.
STATE="${EMULATOR_STATE:-$ROOT/.emulator}"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

install() {
  venv_install "$VENV" "$ROOT/scripts/emulator/requirements.txt"
}

env_lines() {
  local port; port="$(cat "$STATE/port")"
  cat <<EOV
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_REGION=\${AWS_REGION:-ap-south-1}
export AWS_DEFAULT_REGION=\${AWS_REGION:-ap-south-1}
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
export PATH="$VENV/bin:\$PATH"
EOV
}

running() {
  [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null
}

start() {
  install
  mkdir -p "$STATE"
  if running; then env_lines; return; fi
  local port; port="$(free_port)"
  echo "$port" > "$STATE/port"
  nohup "$VENV/bin/python" "$ROOT/scripts/emulator/moto_server.py" --host 127.0.0.1 --port "$port" \
    > "$STATE/moto.log" 2>&1 &
  echo $! > "$STATE/pid"
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" 2>/dev/null; then
      env_lines
      return
    fi
    if ! running; then echo "emulator failed to start; log:" >&2; cat "$STATE/moto.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "emulator did not answer on port $port within 10 s; log: $STATE/moto.log" >&2
  exit 1
}

stop() {
  if running; then kill "$(cat "$STATE/pid")" 2>/dev/null || true; fi
  rm -f "$STATE/pid" "$STATE/port"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) running && env_lines || { echo "emulator is not running" >&2; exit 1; } ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
