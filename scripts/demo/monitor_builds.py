"""Builds for the demo's monitor part, against the emulator (AWS_ENDPOINT_URL).

  monitor_builds.py sample-log BUCKET
      the log of events/build-succeeded.json (events/logs/buildkit-partly-cached.log) into
      CloudWatch Logs, and its cache upload (an object written after the build started)
  monitor_builds.py worker-build N BUCKET OUT
      build N of tts-worker-build, whose buildspec has no cache: section: the project (S3 cache)
      when missing, its log (events/logs/no-cache-in-buildspec.log), and its final event, a fast
      2-minute build started 10 minutes after build N-1, written to OUT
  monitor_builds.py outcome < RESULT
      one line from the monitor's JSON result: the build's outcome and its cache notice
  monitor_builds.py week PROJECT
      a week of PROJECT's builds in CodeBuild's history (the emulator's EMULATOR_BUILD: start,
      phases, the scenario the buildspec exports), the seven days before today (UTC), as the
      Monday digest reads them; prints one line per build
"""

import datetime
import importlib.util
import json
import os
import sys

import boto3

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
REGION = os.environ.get("AWS_REGION", "ap-south-1")
ACCOUNT = "123456789012"
WORKER = "tts-worker-build"


def client(name):
    return boto3.client(name, endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=REGION)


def load(*path):
    """A script of this repository as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(path[-1].removesuffix(".py"), os.path.join(ROOT, *path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def service_role(name, bucket):
    """The project's service role, as scripts/demo/aws.py makes it (may use the cache)."""
    load("scripts", "demo", "aws.py").service_role(name, bucket)


def put_log(path, group, stream):
    load("scripts", "bench", "put_log.py").main(path, group, stream)


def sample_log(bucket):
    event = json.load(open(os.path.join(ROOT, "events", "build-succeeded.json")))
    logs = event["detail"]["additional-information"]["logs"]
    put_log(os.path.join(ROOT, "events", "logs", "buildkit-partly-cached.log"), logs["group-name"], logs["stream-name"])
    client("s3").put_object(Bucket=bucket, Key="tts-service-build/pip-cache.zip", Body=b"\0" * 4096)


def codebuild_time(t):
    return t.strftime("%b %-d, %Y %-I:%M:%S %p")


def worker_build(n, bucket, out):
    cb = client("codebuild")
    if not cb.batch_get_projects(names=[WORKER])["projects"]:
        service_role("codebuild-tts-worker", bucket)
        cb.create_project(
            name=WORKER,
            source={"type": "CODECOMMIT", "location": "https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/tts-worker", "buildspec": "buildspec.yml"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": True},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-tts-worker",
            cache={"type": "S3", "location": f"{bucket}/{WORKER}"},
        )
    uuid = f"0000000{n}-5e1f-4a2b-9c3d-4e5f6a7b8c9d"
    put_log(os.path.join(ROOT, "events", "logs", "no-cache-in-buildspec.log"), f"/aws/codebuild/{WORKER}", uuid)
    event = json.load(open(os.path.join(ROOT, "events", "build-succeeded.json")))
    arn = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:build/{WORKER}:{uuid}"
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=60 - 10 * n)
    end = start + datetime.timedelta(minutes=2)
    event["id"] = f"demo-worker-{n}"
    event["resources"] = [arn]
    detail = event["detail"]
    detail["project-name"], detail["build-id"] = WORKER, arn
    info = detail["additional-information"]
    info["build-number"] = float(n)
    info["cache"] = {"type": "S3", "location": f"{bucket}/{WORKER}"}
    info["logs"] = {"group-name": f"/aws/codebuild/{WORKER}", "stream-name": uuid}
    info["build-start-time"] = codebuild_time(start)
    info["phases"] = [
        {"phase-context": [], "start-time": codebuild_time(start), "end-time": codebuild_time(end), "duration-in-seconds": 120, "phase-type": "BUILD", "phase-status": "SUCCEEDED"},
        {"start-time": codebuild_time(end), "phase-type": "COMPLETED"},
    ]
    json.dump(event, open(out, "w"), indent=2)


# (days before today, hour, scenario, own minutes): the seed's expected ranges are first 20-28,
# no_change 5-8, app 8-12, requirements 15-20, so three of these run over (7 + 7 + 4 = 18 minutes).
WEEK = [
    (7, 9, "first", 26),
    (6, 10, "no_change", 7),
    (5, 14, "app", 19),
    (4, 11, "no_change", 15),
    (3, 16, "requirements", 17),
    (2, 9, "app", 10),
    (1, 13, "no_change", 12),
]


def week(project):
    cb = client("codebuild")
    today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    for days, hour, scenario, minutes in WEEK:
        start = today - datetime.timedelta(days=days) + datetime.timedelta(hours=hour)
        spec = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "status": "SUCCEEDED",
                "phases": [["QUEUED", 40], ["PROVISIONING", 25], ["BUILD", minutes * 60]],
                "exported": {"CACHE_SENTINEL_SCENARIO": scenario}}
        cb.start_build(projectName=project, environmentVariablesOverride=[
            {"name": "EMULATOR_BUILD", "value": json.dumps(spec), "type": "PLAINTEXT"}])
        print(f"  {start:%a %d %b %H:%M}  {scenario:<13} {minutes:>2} min of its own time")


def outcome():
    text = sys.stdin.read()
    try:
        build = json.loads(text)["builds"][0]
    except (ValueError, KeyError, IndexError):
        print(f"no result: {text.strip()[:300]}")
        return
    problems = build.get("evidence", {}).get("problems", {})
    shown = [cause for cause, signal in problems.items() if signal == "shows"]
    line = f"{build['outcome']}; the build shows: {', '.join(shown) or 'no cache problem'}"
    notice = build.get("cache_notice")
    if notice:
        line += f"; cache notice {notice['outcome']} ({', '.join(notice['causes'])})"
    print(line)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "sample-log":
        sample_log(*args)
    elif command == "worker-build":
        worker_build(int(args[0]), args[1], args[2])
    elif command == "outcome":
        outcome()
    elif command == "week":
        week(*args)
    else:
        sys.exit(__doc__)
