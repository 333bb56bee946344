#!/usr/bin/env bash
# Measures a guard sweep over N drifted projects (LOCAL_DOCKER_LAYER_CACHE, one service role with
# access) on a fresh emulator: the first sweep heals them all (HeadBucket once, per project two
# SimulatePrincipalPolicy calls, a claim marker and UpdateProject, then one combined notice); the
# second finds nothing to do. Wall time of each, from the guard's own handle() call. The emulator
# (one Python process) is the bottleneck here; AWS answers faster and in parallel.
#
#   bash scripts/bench-guard.sh [N]     (default 200)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
N="${1:-200}"
bash scripts/emulator.sh install
export EMULATOR_STATE="$ROOT/.emulator/bench-guard-$$"
eval "$(bash scripts/emulator.sh start)"
trap 'bash scripts/emulator.sh stop; rm -rf "$EMULATOR_STATE"' EXIT
BUCKET=codebuild-cache-123456789012-ap-south-1

"$ROOT/.venv/bin/python" - "$N" "$BUCKET" <<'PY'
import json, os, sys
import boto3
n, bucket = int(sys.argv[1]), sys.argv[2]
kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"])
boto3.client("s3", **kw).create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_REGION"]})
iam = boto3.client("iam", **kw)
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
iam.create_role(RoleName="codebuild-bench", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="codebuild-bench", PolicyName="cache", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/*"},
    {"Effect": "Allow", "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"], "Resource": f"arn:aws:s3:::{bucket}"}]}))
cb = boto3.client("codebuild", **kw)
for i in range(n):
    cb.create_project(
        name=f"bench-{i:04d}", source={"type": "CODECOMMIT", "location": "https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/bench", "buildspec": "buildspec.yml"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
        serviceRole="arn:aws:iam::123456789012:role/service-role/codebuild-bench",
        cache={"type": "LOCAL", "modes": ["LOCAL_DOCKER_LAYER_CACHE"]})
print(f"seeded {n} drifted projects", file=sys.stderr)
PY

cargo build -q -p cache-guard --example guard_sweep
for run in "heals them" "nothing to do"; do
  printf '%-14s ' "$run:"
  CACHE_BUCKET="$BUCKET" PROJECT_INCLUDE='bench-*' RUST_LOG=error target/debug/examples/guard_sweep
done
