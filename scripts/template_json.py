#!/usr/bin/env python3
"""Prints a CloudFormation/SAM template as JSON, for tests that check it.

    template_json.py TEMPLATE              the template as written, short-form intrinsics (!Ref,
                                           !Sub, !If...) in their long form ({"Ref": ...})
    template_json.py --transform TEMPLATE  the template after the SAM transform, exactly the
                                           resources CloudFormation would create

Parsing uses cfn-lint's decoder (the one CloudFormation linting relies on), so the tests read the
template the same way the linter does. --transform needs aws-sam-translator (scripts/lint-install.sh).
It stands in for `sam package`: local CodeUri paths become a placeholder S3 location, as they
would after upload. Nothing here calls AWS.
"""

import json
import os
import sys


def fail(message):
    print(f"template_json.py: {message}", file=sys.stderr)
    sys.exit(1)


def decode(path):
    try:
        import cfnlint.decode
    except ImportError:
        fail("cfn-lint is not installed in this Python; run: bash scripts/lint-install.sh")
    template, matches = cfnlint.decode.decode(path)
    if matches:
        fail("cannot parse %s:\n%s" % (path, "\n".join(str(m) for m in matches)))
    # Plain dicts, lists and strings (the decoder's nodes carry line numbers).
    return json.loads(json.dumps(template))


def replace_local_code_uris(template):
    placeholder = "s3://cache-sentinel-template-test/code.zip"
    sections = [template.get("Globals", {}).get("Function", {})]
    sections += [
        r.get("Properties", {})
        for r in template.get("Resources", {}).values()
        if r.get("Type") == "AWS::Serverless::Function"
    ]
    for properties in sections:
        uri = properties.get("CodeUri")
        if isinstance(uri, str) and not uri.startswith("s3://"):
            properties["CodeUri"] = placeholder


def transform(template):
    try:
        from samtranslator.translator.transform import transform as sam_transform
    except ImportError:
        fail("aws-sam-translator is not installed; run: bash scripts/lint-install.sh")
    # The translator asks boto3 for the partition of the current region; no call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        """The template names no AWS managed policies by name, so there is nothing to look up."""

        def load(self):
            return {}

    replace_local_code_uris(template)
    return sam_transform(template, {}, NoManagedPolicies())


def main(argv):
    args = argv[1:]
    want_transform = "--transform" in args
    paths = [a for a in args if a != "--transform"]
    if len(paths) != 1:
        fail("usage: template_json.py [--transform] TEMPLATE")
    template = decode(paths[0])
    if want_transform:
        try:
            template = transform(template)
        except Exception as err:  # the translator's own errors name the resource and property
            fail(f"SAM transform of {paths[0]} failed: {err}")
    json.dump(template, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
