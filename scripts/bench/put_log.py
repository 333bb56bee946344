"""Writes a build log file to CloudWatch Logs (the emulator at AWS_ENDPOINT_URL) as CodeBuild does:
one event a line, each at the time of the last CodeBuild line before it, replayed to end now
(PutLogEvents takes events of the last 14 days only), in batches within PutLogEvents' limits
(10,000 events, 1 MB counting 26 bytes an event).

Usage: python put_log.py FILE GROUP STREAM
"""

import datetime
import os
import sys

import boto3


def main(path, group, stream):
    logs = boto3.client("logs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ.get("AWS_REGION", "ap-south-1"))
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    lines = open(path, encoding="utf-8").read().splitlines()
    times, last = [], 0
    for line in lines:
        if line.startswith("[Container] "):
            try:
                stamp = datetime.datetime.strptime(line[12:38], "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
                last = int(stamp.timestamp() * 1000)
            except ValueError:
                pass
        times.append(last)
    shift = int(datetime.datetime.now(datetime.timezone.utc).timestamp() * 1000) - 60_000 - max(times)
    batch, size = [], 0
    for line, t in zip(lines, times):
        event = {"timestamp": t + shift, "message": line or " "}
        cost = len(event["message"].encode()) + 26
        if len(batch) == 10_000 or size + cost > 1_000_000:
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
    print(f"{len(lines)} events in {group}/{stream}", file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:4])
