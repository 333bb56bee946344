"""Creates the benchmark's CodeBuild projects in the emulator (moto): one project per cache location
of scripts/bench/dataset.py, its cache S3 at `<bucket>/<project>`, plus one project in ten whose
cache the pruners must ignore (LOCAL, NO_CACHE, or S3 in another bucket), as real accounts have.

Usage: python codebuild_projects.py --bucket B --locations L   (endpoint from AWS_ENDPOINT_URL_CODEBUILD)
"""

import argparse
import json
import sys

import boto3

import dataset

ACCOUNT = "123456789012"


def create(codebuild, name, cache):
    codebuild.create_project(
        name=name,
        source={"type": "CODECOMMIT", "location": f"https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/{name}"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": True,
            # The emulator reports the project created a year ago, before the dataset's objects:
            # otherwise every object predates its location and the pruner rightly keeps them all.
            "environmentVariables": [
                {"name": "EMULATOR_CREATED_SECONDS_AGO", "value": str(365 * 86400), "type": "PLAINTEXT"}
            ],
        },
        serviceRole=f"arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-{name}",
        cache=cache,
    )


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--locations", type=int, required=True)
    args = parser.parse_args(argv)
    codebuild = boto3.client("codebuild")
    existing = set(codebuild.list_projects().get("projects", []))
    names = dataset.location_names(args.locations)
    for name in names:
        if name not in existing:
            create(codebuild, name, {"type": "S3", "location": f"{args.bucket}/{name}"})
    others = [
        {"type": "LOCAL", "modes": ["LOCAL_DOCKER_LAYER_CACHE", "LOCAL_SOURCE_CACHE"]},
        {"type": "NO_CACHE"},
        {"type": "S3", "location": f"{args.bucket}-elsewhere/team"},
    ]
    for i in range(max(1, args.locations // 10)):
        name = f"other-{i:04d}-build"
        if name not in existing:
            create(codebuild, name, others[i % len(others)])
    print(json.dumps({"projects": len(names) + max(1, args.locations // 10), "locations": len(names)}))


if __name__ == "__main__":
    main(sys.argv[1:])
