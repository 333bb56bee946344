"""Small AWS helper for the demo, run against the local emulator (AWS_ENDPOINT_URL).

  aws.py setup PROJECT BUCKET TOPIC      create the cache bucket, an SNS topic with an SQS subscriber
                                         (prints the topic ARN), and PROJECT on LOCAL_DOCKER_LAYER_CACHE
  aws.py cache PROJECT                   the seed's check: batch-get-projects --query 'projects[0].cache'
  aws.py seed-objects BUCKET SPEC...     put cache objects; SPEC = KEY:AGE_DAYS:SIZE_BYTES
  aws.py list-objects BUCKET             list the bucket's keys
  aws.py notices TOPIC                   print every notice the subscriber received, as an email reads
  aws.py service-role NAME BUCKET [read-only]
                                         a CodeBuild service role (/service-role/NAME) that may read and
                                         write the cache in BUCKET (or only read it)
  aws.py project NAME ROLE               another project like the setup's, run by service role ROLE
  aws.py report FILE FIELD...            print the named fields of a function's JSON result
  aws.py prune-plan FILE                 the pruner's dry-run result: counts and the plan, one line a key
  aws.py prune-report FILE               the pruner's result: each cache location, what else is in the bucket
  aws.py create-project NAME LOCATION    a CodeBuild project whose S3 cache is LOCATION (bucket/prefix)
  aws.py no-cache-project NAME BUCKET DAYS
                                         a NO_CACHE project created DAYS days ago, whose service role may
                                         use the cache in BUCKET
  aws.py delete-project NAME             delete a CodeBuild project
"""

import json
import os
import sys
import datetime

import boto3

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]
REGION = os.environ.get("AWS_REGION", "ap-south-1")
ACCOUNT = "123456789012"


def client(name):
    return boto3.client(name, endpoint_url=ENDPOINT, region_name=REGION)


def queue_name(topic):
    return topic.split(":")[-1] + "-subscriber"


def setup(name, bucket, topic_name):
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName=queue_name(topic))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    try:
        client("codebuild").delete_project(name=name)
    except Exception:
        pass
    project(name, "codebuild-tts-service")
    print(topic)


def service_role(name, bucket, mode="read-write"):
    actions = ["s3:GetObject"] if mode == "read-only" else ["s3:GetObject", "s3:PutObject"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": actions, "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Allow", "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"], "Resource": f"arn:aws:s3:::{bucket}"}]}
    iam = client("iam")
    try:
        iam.create_role(RoleName=name, Path="/service-role/", AssumeRolePolicyDocument=json.dumps(trust))
    except iam.exceptions.EntityAlreadyExistsException:
        pass  # a project created again keeps its role; the policy below is set again
    iam.put_role_policy(RoleName=name, PolicyName="codebuild-cache", PolicyDocument=json.dumps(policy))


# The emulator's EMULATOR_CREATED_SECONDS_AGO aid (scripts/emulator/moto_server.py): the demo's
# projects were created a year ago, so the cache objects it seeds (backdated) do not predate them.
A_YEAR_OLD = {"name": "EMULATOR_CREATED_SECONDS_AGO", "value": str(365 * 86400), "type": "PLAINTEXT"}


def project(name, role):
    client("codebuild").create_project(
        name=name,
        source={"type": "CODECOMMIT", "location": "https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/tts-service", "buildspec": "buildspec.yml"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "computeType": "BUILD_GENERAL1_LARGE", "privilegedMode": True,
                     "environmentVariables": [A_YEAR_OLD]},
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/service-role/{role}",
        cache={"type": "LOCAL", "modes": ["LOCAL_DOCKER_LAYER_CACHE"]},
        timeoutInMinutes=60,
    )


def cache(project):
    projects = client("codebuild").batch_get_projects(names=[project])["projects"]
    print(json.dumps(projects[0]["cache"], indent=4) if projects else "null")


def seed_objects(bucket, specs):
    """AGE_DAYS goes to the emulator's `emulator-age-seconds` aid (scripts/emulator/moto_server.py),
    which backdates LastModified; real S3 has no such thing."""
    s3 = client("s3")
    for spec in specs:
        key, age_days, size = spec.rsplit(":", 2)
        s3.put_object(Bucket=bucket, Key=key, Body=b"\0" * int(size),
                      Metadata={"emulator-age-seconds": str(int(float(age_days) * 86400))})


def list_objects(bucket):
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket)
    objects = [o for page in pages for o in page.get("Contents", [])]
    for o in objects:
        age = (now - o["LastModified"]).total_seconds() / 86400
        print(f"    {o['Key']:<48} {age:6.1f} days  {o['Size']:>9} bytes")
    print(f"    ({len(objects)} objects)")


def notices(topic):
    sqs = client("sqs")
    queue = sqs.get_queue_url(QueueName=queue_name(topic))["QueueUrl"]
    count = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            break
        for m in messages:
            envelope = json.loads(m["Body"])
            attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
            print("    " + "-" * 72)
            print(f"    Subject: {envelope.get('Subject')}")
            print(f"    Attributes: {json.dumps(attributes, sort_keys=True)}")
            print()
            for line in envelope["Message"].splitlines():
                print("    " + line)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            count += 1
    print("    " + "-" * 72)
    print(f"    ({count} notice(s) received by the subscriber)")


def report(path, fields):
    with open(path) as f:
        result = json.load(f)
    print(json.dumps({k: result[k] for k in fields if k in result}, indent=2))


def prune_plan(path):
    with open(path) as f:
        result = json.load(f)
    summary = {k: result.get(k) for k in ("dry_run", "scanned", "planned", "deleted", "bytes_planned", "versioning")}
    summary["plan"] = [f"{d['key']}  ({d['reason']})" for d in result.get("deletions", [])]
    print(json.dumps(summary, indent=2))


def prune_report(path):
    with open(path) as f:
        result = json.load(f)
    print(f"    scanned {result['scanned']}, deleted {result['deleted']} ({result['bytes_freed']} bytes), "
          f"failed {result['failed']}, finished {result['finished']}")
    for name, line in result.get("locations", {}).items():
        projects = ", ".join(line["projects"]) or "no project"
        since = f" since {line['missing_since'][:10]}" if line.get("missing_since") else ""
        print(f"    cache location {name:<48} {line['status']}{since} ({projects}): "
              f"{line['scanned']} objects, {line['deleted']} deleted")
    for e in result.get("excluded", []):
        print(f"    left alone: {e['prefix'] or '(bucket root)'}: {e['reason']}")
    unmanaged = result.get("unmanaged") or {}
    if unmanaged:
        print(f"    not cache, never deleted: {unmanaged['objects']} objects, {unmanaged['bytes']} bytes")
        for p in unmanaged.get("top_prefixes", []):
            print(f"        {p['prefix'] or '(bucket root)':<20} {p['objects']} objects, {p['bytes']} bytes")
    for note in result.get("notes", []):
        print(f"    note: {note}")


def create_project(name, location, cache=None, days_old=365):
    """A small project whose service role may use the cache in LOCATION's bucket; its cache is S3 at
    LOCATION unless `cache` says otherwise; created `days_old` days ago (the emulator's aid)."""
    cb = client("codebuild")
    try:
        cb.delete_project(name=name)
    except Exception:
        pass
    service_role(f"codebuild-{name}", location.split("/")[0])
    created = {"name": "EMULATOR_CREATED_SECONDS_AGO", "value": str(int(float(days_old) * 86400)), "type": "PLAINTEXT"}
    cb.create_project(
        name=name,
        source={"type": "CODECOMMIT", "location": f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/{name}"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux2-x86_64-standard:5.0", "computeType": "BUILD_GENERAL1_SMALL",
                     "environmentVariables": [created]},
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-{name}",
        cache=cache or {"type": "S3", "location": location},
    )


def no_cache_project(name, bucket, days):
    create_project(name, bucket, cache={"type": "NO_CACHE"}, days_old=days)


def delete_project(name):
    client("codebuild").delete_project(name=name)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup(*args)
    elif command == "cache":
        cache(*args)
    elif command == "seed-objects":
        seed_objects(args[0], args[1:])
    elif command == "list-objects":
        list_objects(*args)
    elif command == "notices":
        notices(*args)
    elif command == "service-role":
        service_role(*args)
    elif command == "project":
        project(*args)
    elif command == "report":
        report(args[0], args[1:])
    elif command == "prune-plan":
        prune_plan(*args)
    elif command == "prune-report":
        prune_report(*args)
    elif command == "create-project":
        create_project(*args)
    elif command == "no-cache-project":
        no_cache_project(*args)
    elif command == "delete-project":
        delete_project(*args)
    else:
        sys.exit(__doc__)
