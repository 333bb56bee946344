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
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

venv_install "$VENV" "$ROOT/scripts/ci/requirements-lint.txt"
CHECKOV_VENV="$VENV/checkov"
venv_install "$CHECKOV_VENV" "$ROOT/scripts/ci/requirements-checkov.txt"
ln -sfn "$CHECKOV_VENV/bin/checkov" "$VENV/bin/checkov"
