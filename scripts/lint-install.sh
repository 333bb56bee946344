#!/usr/bin/env bash
# Installs the template checkers used by shared/tests/template_lint.rs and template_consistency.rs:
#   .venv/bin/cfn-lint, .venv/bin/python with aws-sam-translator   (scripts/ci/requirements-lint.txt)
#   .venv/bin/checkov -> .venv/checkov/bin/checkov                 (scripts/ci/requirements-checkov.txt)
# checkov lives in its own virtualenv because its pins (boto3/botocore 1.35, networkx 2.6) would
# downgrade what the emulator (moto) needs in .venv. Idempotent: a stamp per requirements file
# content, so a second run does nothing (about 1.5 min the first time on a fresh machine).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

stamp_for() { echo "$1/.installed-$(sha256sum "$2" | cut -c1-16)"; }

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
req="$ROOT/scripts/ci/requirements-lint.txt"
stamp="$(stamp_for "$VENV" "$req")"
if [ ! -f "$stamp" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi

CHECKOV_VENV="$VENV/checkov"
if [ ! -x "$CHECKOV_VENV/bin/python" ]; then
  "$PYTHON" -m venv "$CHECKOV_VENV"
fi
req="$ROOT/scripts/ci/requirements-checkov.txt"
stamp="$(stamp_for "$CHECKOV_VENV" "$req")"
if [ ! -f "$stamp" ]; then
  "$CHECKOV_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
ln -sfn "$CHECKOV_VENV/bin/checkov" "$VENV/bin/checkov"
