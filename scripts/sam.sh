#!/usr/bin/env bash
# The SAM CLI exactly as a user runs it, pinned, in a virtualenv of its own (.venv/sam: aws-sam-cli
# pins boto3, jsonschema and others that moto and cfn-lint in .venv must keep), with what
# `sam build` of this template needs for the default arm64 architecture: cargo-lambda, zig (the
# ziglang package) and Rust's aarch64-unknown-linux-gnu standard library.
#
#   scripts/sam.sh install          install the above (idempotent; about 45 s the first time)
#   scripts/sam.sh ARGS...          install, then run `sam ARGS...` in the workspace root
#                                   (for example: scripts/sam.sh build; scripts/sam.sh validate --lint)
#
# samconfig.toml holds the defaults `sam build` and `sam deploy` read. Telemetry is off.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAM_VENV="$ROOT/.venv/sam"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

install() {
  mkdir -p "$ROOT/.venv"
  venv_install "$SAM_VENV" "$ROOT/scripts/ci/requirements-sam.txt"
  # cargo-zigbuild (inside cargo-lambda) looks for `zig` on the PATH: the ziglang package ships
  # the compiler, this runs it.
  if [ ! -x "$SAM_VENV/bin/zig" ]; then
    printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$SAM_VENV/bin/python" > "$SAM_VENV/bin/zig"
    chmod +x "$SAM_VENV/bin/zig"
  fi
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
  fi
}

install
[ "$#" -eq 0 ] || [ "$1" = install ] && exit 0
cd "$ROOT"
export PATH="$SAM_VENV/bin:$PATH"
export SAM_CLI_TELEMETRY=0
exec sam "$@"
