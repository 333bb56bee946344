#!/usr/bin/env bash
# Builds the release Lambda binaries of every function with cargo-lambda (target/lambda/<bin>/bootstrap)
# and reports their sizes and the newest glibc symbol version they need. Fails when a binary is over
# 8 MB or needs a glibc newer than Lambda's provided.al2023 (2.34).
#
#   scripts/build-release.sh            this machine's architecture, plain cargo (no zig needed)
#   scripts/build-release.sh --arm64    cross build for Graviton (the template's default): needs zig
#   scripts/build-release.sh --x86-64   cross build for x86_64 from an arm64 machine: needs zig
#
# cargo-lambda comes from the project's .venv (`bash scripts/emulator.sh install`) or the PATH.
# Not run by the tests (a full LTO release build takes minutes); `sam build` runs the same build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.venv/bin:$PATH"
MAX_BYTES=8000000   # 8 MB, decimal: the stricter reading of the target
LAMBDA_GLIBC="2.34"

if ! command -v cargo-lambda >/dev/null 2>&1; then
  echo "cargo-lambda not found: run \`bash scripts/emulator.sh install\` (puts it in .venv) or install it" >&2
  exit 1
fi

case "$(uname -m)" in
  x86_64) native="--x86-64" ;;
  aarch64 | arm64) native="--arm64" ;;
  *) native="" ;;
esac
target="${1:-$native}"
case "$target" in
  --x86-64) triple="x86_64-unknown-linux-gnu" ;;
  --arm64) triple="aarch64-unknown-linux-gnu" ;;
  *) echo "usage: $0 [--arm64|--x86-64]" >&2; exit 2 ;;
esac
if [ "$target" = "$native" ]; then
  compiler=(--compiler cargo)      # native: plain cargo and the system linker
else
  compiler=()                      # cross: cargo-lambda's default, cargo-zigbuild (needs zig)
  command -v zig >/dev/null 2>&1 || { echo "cross-compiling to $triple needs zig (see docs/deploy.md)" >&2; exit 1; }
fi

start=$(date +%s)
# The CLI is not a Lambda function, and building it together with them would unify its
# dependencies' features (aws-config's SSO and credential_process) into the functions' binaries.
cargo lambda build --release --workspace --exclude cache-sentinel-cli "$target" "${compiler[@]}"
elapsed=$(( $(date +%s) - start ))

status=0
printf '%-22s %12s %10s  %s\n' binary bytes MB "glibc needed"
for manifest in functions/*/Cargo.toml; do
  bin="$(basename "$(dirname "$manifest")")"
  path="target/lambda/$bin/bootstrap"
  if [ ! -f "$path" ]; then echo "$bin: $path was not built" >&2; status=1; continue; fi
  bytes=$(stat -c %s "$path")
  glibc=$(objdump -T "$path" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1 || true)
  awk -v b="$bin" -v n="$bytes" -v g="${glibc:-?}" 'BEGIN {printf "%-22s %12d %10.2f  %s\n", b, n, n / 1000000, g}'
  if [ "$bytes" -gt "$MAX_BYTES" ]; then echo "$bin: $bytes bytes is over the 8 MB target" >&2; status=1; fi
  if [ -n "$glibc" ] && [ "$(printf '%s\n%s\n' "$glibc" "$LAMBDA_GLIBC" | sort -V | tail -1)" != "$LAMBDA_GLIBC" ]; then
    echo "$bin: needs glibc $glibc, newer than provided.al2023's $LAMBDA_GLIBC; build with zig (cargo lambda's default compiler)" >&2
    status=1
  fi
  if objdump -h "$path" 2>/dev/null | grep -q '\.symtab\|\.debug_info'; then echo "$bin: not stripped" >&2; status=1; fi
done
echo "target $triple, built in ${elapsed}s"
exit $status
