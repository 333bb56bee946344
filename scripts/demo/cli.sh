# Part of scripts/demo.sh (sourced): the command line. A project still on a LOCAL cache, with two
# builds of fixed figures (the emulator's EMULATOR_BUILD); the pruner's plan for the shared bucket
# (`cache-sentinel prune`, a dry run); then `cache-sentinel audit` over every project of the
# emulator, as a person (or CI, by its exit code) sees them.

say "5. cache-sentinel, the command line"
$AWS service-role codebuild-web "$BUCKET"

"$ROOT/.venv/bin/python" - <<'PY'
import json
import boto3

codebuild = boto3.client("codebuild")
codebuild.create_project(
    name="web-frontend-build",
    source={"type": "CODECOMMIT", "location": "https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/web",
            "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - npm ci && npm run build\ncache:\n  paths:\n    - '/root/.npm/**/*'\n"},
    artifacts={"type": "NO_ARTIFACTS"},
    environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_MEDIUM"},
    serviceRole="arn:aws:iam::123456789012:role/service-role/codebuild-web",
    cache={"type": "LOCAL", "modes": ["LOCAL_SOURCE_CACHE"]},
)
for start, minutes, scenario in (("2026-11-20T09:00:00Z", 9, "app"), ("2026-11-20T11:00:00Z", 17, "app")):
    spec = {"start": start, "status": "SUCCEEDED", "phases": [["QUEUED", 30], ["BUILD", minutes * 60 - 30]],
            "exported": {"CACHE_SENTINEL_SCENARIO": scenario}}
    codebuild.start_build(projectName="web-frontend-build",
                          environmentVariablesOverride=[{"name": "EMULATOR_BUILD", "value": json.dumps(spec), "type": "PLAINTEXT"}])
PY

CLI="$ROOT/target/debug/cache-sentinel"
echo "cache-sentinel prune: what the pruner would delete now in the shared bucket, by reason and cache"
echo "location, and what it leaves alone (a dry run; --apply deletes, Ctrl-C stops it cleanly):"
echo "\$ cache-sentinel prune"
status=0
"$CLI" prune || status=$?
echo "(exit code $status: 0 nothing to delete, 1 something to delete)"

echo; echo "cache-sentinel audit: every project as a person (or CI, with --json and the exit code) sees it:"
echo "the cache now, what the guard would do and why, the service role's access, the last build's own"
echo "time against its range, and the cache evidence the monitor recorded:"
echo "\$ cache-sentinel audit"
status=0
"$CLI" audit || status=$?
echo "(exit code $status: 0 nothing needs attention, 1 something does, 2 an error)"
