"""The benchmark's peer: a straightforward sequential boto3 pruner with cache-pruner's default
policy, the yardstick for cache-pruner's speed. One request at a time: list a page, delete what is
stale (in full batches of 1,000, so its delete calls are the minimum), next page.

Policy (cache-pruner's defaults): the cache locations are learned from CodeBuild (ListProjects, all
pages, then BatchGetProjects by 100): every project whose cache is S3 at `<bucket>/<prefix>` in
this bucket; several projects on one location form one group. Only those prefixes are listed.
Per location: the N newest objects (by LastModified, then key) are kept; of the others, those older
than the maximum age are deleted, never one younger than the minimum age. A location nobody uses
any more is not pruned (the first sighting of an orphan deletes nothing, as in issue 10; the
benchmark's data has no orphans).

Usage: python sequential_pruner.py --bucket B [--keep-newest 3] [--max-age-days 30] [--min-age-hours 24]
Endpoints and credentials from the environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_CODEBUILD);
path-style addressing. Prints a JSON report; exits non-zero when a deletion fails.
"""

import argparse
import calendar
import heapq
import json
import sys
import time

import boto3
from botocore.config import Config

BATCH = 1000


def discover(codebuild, bucket, calls):
    """The distinct cache location prefixes in `bucket` (each ending in '/', or '' for the root)."""
    names, token = [], None
    while True:
        page = codebuild.list_projects(**({"nextToken": token} if token else {}))
        calls["codebuild:ListProjects"] += 1
        names += page.get("projects", [])
        token = page.get("nextToken")
        if not token:
            break
    locations = set()
    for i in range(0, len(names), 100):
        calls["codebuild:BatchGetProjects"] += 1
        for project in codebuild.batch_get_projects(names=names[i : i + 100]).get("projects", []):
            cache = project.get("cache") or {}
            where = cache.get("location") or ""
            if cache.get("type") != "S3" or not where:
                continue
            loc_bucket, _, prefix = where.partition("/")
            if loc_bucket == bucket:
                locations.add(prefix.strip("/") + "/" if prefix.strip("/") else "")
    ordered = sorted(locations)
    for a, b in zip(ordered, ordered[1:]):
        if b.startswith(a):
            sys.exit(f"nested cache locations {a!r} and {b!r}: this peer handles disjoint locations only")
    return ordered


def last_modified_ms(dt):
    return calendar.timegm(dt.utctimetuple()) * 1000 + dt.microsecond // 1000


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--keep-newest", type=int, default=3)
    parser.add_argument("--max-age-days", type=float, default=30)
    parser.add_argument("--min-age-hours", type=float, default=24)
    args = parser.parse_args(argv)
    started = time.time()
    now_ms = int(started * 1000)
    max_age_ms, min_age_ms = int(args.max_age_days * 86400_000), int(args.min_age_hours * 3600_000)
    config = Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "max_attempts": 5})
    s3 = boto3.client("s3", config=config)
    codebuild = boto3.client("codebuild", config=config)
    calls = {k: 0 for k in ("codebuild:ListProjects", "codebuild:BatchGetProjects", "s3:ListObjectsV2", "s3:DeleteObjects")}
    locations = discover(codebuild, args.bucket, calls)
    scanned = deleted = 0
    failed = []
    pending = []

    def delete(batch):
        nonlocal deleted
        calls["s3:DeleteObjects"] += 1
        out = s3.delete_objects(Bucket=args.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
        errors = out.get("Errors", [])
        failed.extend(errors)
        deleted += len(batch) - len(errors)

    for prefix in locations:
        newest = []  # min-heap of the N newest (mtime, key) of this location
        token = None
        while True:
            request = {"Bucket": args.bucket, "Prefix": prefix, "MaxKeys": 1000}
            if token:
                request["ContinuationToken"] = token
            page = s3.list_objects_v2(**request)  # boto3 asks for encoding-type=url and decodes
            calls["s3:ListObjectsV2"] += 1
            for obj in page.get("Contents", []):
                scanned += 1
                item = (last_modified_ms(obj["LastModified"]), obj["Key"])
                if len(newest) < args.keep_newest:
                    heapq.heappush(newest, item)
                    continue
                mtime, key = heapq.heappushpop(newest, item)  # the oldest of N+1: not among the N newest
                age = now_ms - mtime
                if age >= min_age_ms and age > max_age_ms:
                    pending.append(key)
            while len(pending) >= BATCH:
                delete(pending[:BATCH])
                del pending[:BATCH]
            token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
            if not token:
                break
    if pending:
        delete(pending)
    report = {
        "locations": len(locations),
        "scanned": scanned,
        "deleted": deleted,
        "failed": len(failed),
        "errors": failed[:20],
        "api_calls": calls,
        "seconds": round(time.time() - started, 3),
    }
    print(json.dumps(report))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
