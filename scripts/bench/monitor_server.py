"""A moto server for the monitor's sweep benchmark: the emulator of scripts/emulator/moto_server.py
(CodeBuild listings in pages of 100, newest first), seeded through its API with a CodeBuild account
of PROJECTS projects and BUILDS builds, counting the requests it serves by operation, optionally
adding latency to every request (as AWS's round trips would).

Usage: python monitor_server.py --port PORT --projects P --builds B [--running R] [--latency-ms MS]
  GET /_bench/counts   -> {"operation": count, ...} of requests served since the last reset
  POST /_bench/reset   -> zero the counts
Seeding: P projects; B builds spread round-robin over them, started uniformly over the last 7 days
(the emulator's EMULATOR_STARTED_SECONDS_AGO aid); the R newest stay IN_PROGRESS
(EMULATOR_KEEP_RUNNING), started 10-120 minutes ago, so the sweep has overdue builds to judge.
"""

import argparse
import importlib.util
import json
import os
import random
import sys
import threading
import time

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("moto_server", os.path.join(HERE, "..", "emulator", "moto_server.py"))
moto_server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(moto_server)  # applies the emulator's additions to moto

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

ACCOUNT = "123456789012"
REGION = "ap-south-1"
counts = {}
lock = threading.Lock()


def operation(environ):
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    method, query = environ["REQUEST_METHOD"], environ.get("QUERY_STRING", "")
    if method == "GET" and "list-type=2" in query:
        return "s3:ListObjectsV2"
    if environ.get("PATH_INFO", "").count("/") >= 2:
        return {"GET": "s3:GetObject", "PUT": "s3:PutObject", "DELETE": "s3:DeleteObject"}.get(method, method)
    return method


def wrap(app, latency):
    def counted(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path in ("/_bench/counts", "/_bench/reset"):
            with lock:
                body = json.dumps(counts).encode()
                if path == "/_bench/reset":
                    counts.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        with lock:
            name = operation(environ)
            counts[name] = counts.get(name, 0) + 1
        if latency:
            time.sleep(latency)
        return app(environ, start_response)

    return counted


def seed(endpoint, projects, builds, running):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    cb, s3 = boto3.client("codebuild", **kw), boto3.client("s3", **kw)
    s3.create_bucket(Bucket="bench-cache", CreateBucketConfiguration={"LocationConstraint": REGION})
    names = [f"service-{p:04d}-build" for p in range(projects)]
    for name in names:
        cb.create_project(
            name=name,
            source={"type": "S3", "location": f"bench-cache/src/{name}.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_LARGE"},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/codebuild",
            cache={"type": "S3", "location": f"bench-cache/{name}"},
        )
    rng = random.Random(42)
    ages = sorted(rng.uniform(0, 7 * 24 * 3600) for _ in range(builds))
    for i, age in enumerate(ages):
        env = []
        if i < running:
            age = rng.uniform(10 * 60, 120 * 60)
            env.append({"name": "EMULATOR_KEEP_RUNNING", "value": "true"})
        env.append({"name": "EMULATOR_STARTED_SECONDS_AGO", "value": str(int(age))})
        cb.start_build(projectName=names[i % projects], environmentVariablesOverride=env)
    with lock:
        counts.clear()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--builds", type=int, default=5000)
    parser.add_argument("--running", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", args.port, wrap(app, 0.0), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    started = time.time()
    seed(f"http://127.0.0.1:{args.port}", args.projects, args.builds, args.running)
    server.app = wrap(app, args.latency_ms / 1000.0)  # latency for the measured run only
    print(json.dumps({"seeded": args.builds, "projects": args.projects, "seconds": round(time.time() - started, 1)}), flush=True)
    thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
