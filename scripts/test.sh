#!/usr/bin/env bash
# Runs every test: unit tests, integration tests against the local emulator (moto, started here on
# a free loopback port and stopped on exit), and end-to-end tests through cargo-lambda.
# Extra arguments go to cargo nextest (for example a test name filter).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if ! command -v cargo-nextest >/dev/null 2>&1; then
  echo "installing cargo-nextest (not on this machine)..." >&2
  cargo install cargo-nextest --locked
fi
bash scripts/emulator.sh install
# An emulator of its own, fresh (no state from earlier runs), on a free port.
export EMULATOR_STATE="$ROOT/.emulator/test-$$"
bash scripts/lint-install.sh
eval "$(bash scripts/emulator.sh start)"
trap 'bash scripts/emulator.sh stop; rm -rf "$EMULATOR_STATE"' EXIT
echo "emulator: $AWS_ENDPOINT_URL" >&2

cargo nextest run --workspace --no-fail-fast "$@"
