#!/usr/bin/env bash
# Deploys cache-sentinel to every account of the given organisational units and regions with a
# service-managed CloudFormation StackSet (docs/org.md). Run from the management account or a
# delegated administrator (--call-as DELEGATED_ADMIN), after `bash scripts/sam.sh build`:
#
#   bash scripts/org/stackset.sh --ou ou-ab12-34cd56ef --regions eu-west-1,us-east-1 \
#       --artifacts-prefix acme-cache-sentinel-artifacts --parameter DryRun=false [--dry-run]
#
# `--help` lists every option. Installs what it needs into the project's .venv (boto3 and the SAM
# translator, with cfn-lint: scripts/lint-install.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$ROOT/scripts/lint-install.sh" >&2
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/org/stackset.py" "$@"
