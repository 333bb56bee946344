"""A moto server for the pruner benchmark: seeds the S3 backend in-process (fast, with realistic
ages), counts the requests it serves by operation, and can add latency to every request.

Usage: python pruner_server.py --port PORT --bucket B --objects N --projects P [--latency-ms MS]
  GET /_bench/counts   -> {"operation": count, ...} of requests served since the last reset
  POST /_bench/reset   -> zero the counts
Seeding: P projects, each with its S3 cache at <bucket>/<project> (every tenth deleted from
CodeBuild, and recorded in the pruner's state as missing for 30 days, i.e. an orphaned location), N
objects spread evenly, 36-character keys under <project>/, ages uniform over 0-90 days, sizes 1 KiB-1
MiB (the bodies really stored are a few bytes: sizes are what ListObjectsV2 reports, set on moto's
keys).
"""

import argparse
import collections
import datetime
import json
import random
import sys
import threading
import time
import uuid

import boto3
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import make_server

ACCOUNT = "123456789012"
REGION = "ap-south-1"

counts = collections.Counter()
lock = threading.Lock()
moto_lock = threading.Lock()


def operation(environ):
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1]
    method = environ["REQUEST_METHOD"]
    query = environ.get("QUERY_STRING", "")
    path = environ.get("PATH_INFO", "")
    if method == "GET" and "list-type=2" in query:
        return "s3:ListObjectsV2(delimiter)" if "delimiter=" in query else "s3:ListObjectsV2"
    if method == "POST" and "delete" in query:
        return "s3:DeleteObjects"
    if method == "GET" and "versioning" in query:
        return "s3:GetBucketVersioning"
    if path.count("/") >= 2:
        return {"GET": "s3:GetObject", "PUT": "s3:PutObject", "DELETE": "s3:DeleteObject"}.get(method, method)
    return method + " " + (query.split("=")[0] or "bucket")


def wrap(app, latency):
    def counted(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_bench/counts":
            with lock:
                body = json.dumps(dict(counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if path == "/_bench/reset":
            with lock:
                counts.clear()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        with lock:
            counts[operation(environ)] += 1
        if latency:
            time.sleep(latency)
        # One request at a time inside moto: a listing iterating a bucket's keys while a concurrent
        # delete removes some fails with a 500 in moto, never in S3. The latency stays concurrent.
        with moto_lock:
            return app(environ, start_response)

    return counted


def seed(endpoint, bucket, objects, projects):
    cb = boto3.client("codebuild", endpoint_url=endpoint, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    names = [f"service-{p:04d}-build" for p in range(projects)]
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    missing = {}
    for p, name in enumerate(names):
        if p % 10 == 9:
            # Orphaned: no such project any more, and the pruner saw its location missing 30 days ago.
            since = (now - datetime.timedelta(days=30)).isoformat() + "Z"
            missing[name] = {"managed": True, "last_seen_live": since, "missing_since": since, "projects": [name]}
            continue
        cb.create_project(
            name=name,
            source={"type": "S3", "location": f"{bucket}/src/{name}.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL"},
            serviceRole=f"arn:aws:iam::{ACCOUNT}:role/codebuild",
            cache={"type": "S3", "location": f"{bucket}/{name}"},
        )
    state = {"version": 2, "locations": missing}
    s3.put_object(Bucket=bucket, Key=".cache-sentinel/pruner/state.json", Body=json.dumps(state).encode())
    backend = s3_backends[ACCOUNT]["aws"]
    rng = random.Random(42)
    per = objects // projects
    for p, name in enumerate(names):
        count = per if p < projects - 1 else objects - per * (projects - 1)
        for _ in range(count):
            key = backend.put_object(bucket, f"{name}/{uuid.UUID(int=rng.getrandbits(128))}", b"x")
            key.last_modified = now - datetime.timedelta(minutes=rng.randrange(90 * 24 * 60))
            key.contentsize = rng.randrange(1024, 1024 * 1024)
    with lock:
        counts.clear()


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    app = wrap(DomainDispatcherApplication(create_backend_app), args.latency_ms / 1000.0)
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    started = time.time()
    seed(f"http://127.0.0.1:{args.port}", args.bucket, args.objects, args.projects)
    print(json.dumps({"seeded": args.objects, "projects": args.projects, "seconds": round(time.time() - started, 1)}), flush=True)
    thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
