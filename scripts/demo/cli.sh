# Part of scripts/demo.sh (sourced): the command line. A second project, still on a LOCAL cache,
# with two builds of fixed figures (the emulator's EMULATOR_BUILD), then `cache-sentinel audit`
# over every project of the emulator, as a person (or CI, by its exit code) sees them.

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

say "cache-sentinel audit: the emulator's projects as a person (or CI, with --json and the exit code) sees them"
status=0
"$ROOT/target/debug/cache-sentinel" audit || status=$?
echo "(exit code $status: 0 nothing needs attention, 1 something does, 2 an error)"
