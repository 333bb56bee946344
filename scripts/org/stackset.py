#!/usr/bin/env python3
"""Deploys cache-sentinel to every account of chosen organisational units, in chosen regions, with a
CloudFormation StackSet of service-managed permissions (AWS Organizations) and automatic deployment
to accounts that join those OUs later. docs/org.md walks through it; `--help` lists the options.

Why not `sam deploy` of template.yaml into a StackSet: the CreateStackSet API reference says
StackSets with service-managed permissions do not support macros, including the AWS::Serverless
transform, even with CAPABILITY_AUTO_EXPAND. So this script deploys the processed template:

1. render: template.yaml through the SAM translator (as `sam deploy` would have CloudFormation do),
   each function's code pointing at `<artifacts-prefix>-${AWS::Region}` (Lambda reads code only from
   a bucket in the function's own region), so one template serves every region;
2. package: each function built by `sam build` (.aws-sam/build/<Function>/), zipped reproducibly,
   named by its SHA-256 (a rerun with the same build uploads nothing);
3. artifact buckets `<artifacts-prefix>-<region>`, one per region, created and tagged by this script
   (a bucket of that name it did not create is refused, never changed): private, encrypted, their
   objects readable by the organisation's principals alone (`aws:PrincipalOrgID`), which is how the
   member accounts' StackSet execution roles fetch the code;
4. the StackSet: created (tagged cache-sentinel:stack-set=true), or updated in place when it carries
   that tag (a StackSet of that name without it is someone else's: refused, untouched); stack
   instances where an OU or region has none yet; each operation waited for and its result printed.

Parameters that differ per account: none. AuditTrustedAccount defaults to the caller's account
(the management account or the delegated administrator: `audit --organization` runs from there)
and AuditRoleRegion to the first region (an IAM role is global: one stack per account makes it).

--dry-run renders and packages locally and prints every call it would make, with no AWS call.
--render FILE writes the processed template and stops (CI lints it with cfn-lint).
"""

import argparse
import hashlib
import io
import json
import os
import sys
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

OWNER_TAG = ("cache-sentinel:artifacts", "true")
# The StackSet's own tag: a StackSet of that name without it is someone else's, never updated.
STACK_SET_TAG = ("cache-sentinel:stack-set", "true")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
FUNCTIONS = ("CacheGuardFunction", "CachePrunerFunction", "BuildTimeMonitorFunction")
# An operation's concurrency and tolerance: a quarter of the accounts at once, and stop when more
# than a tenth fail (a broken template stops early instead of failing everywhere).
OPERATION_PREFERENCES = {
    "RegionConcurrencyType": "PARALLEL",
    "MaxConcurrentPercentage": 25,
    "FailureTolerancePercentage": 10,
}


class Refused(Exception):
    """A reason not to go on, said to the person running the script."""


def parse_args(argv):
    p = argparse.ArgumentParser(description="Deploy cache-sentinel to an organisation with a StackSet.")
    p.add_argument("--ou", required=False, default="", help="organisational unit ids, comma-separated (ou-xxxx-yyyyyyyy or r-xxxx for the root)")
    p.add_argument("--regions", required=True, help="regions, comma-separated; the first also holds the StackSet's template")
    p.add_argument("--artifacts-prefix", required=True, help="artifact buckets are <prefix>-<region>")
    p.add_argument("--stack-set-name", default="cache-sentinel")
    p.add_argument("--call-as", choices=["SELF", "DELEGATED_ADMIN"], default="SELF",
                   help="SELF from the management account, DELEGATED_ADMIN from a delegated administrator")
    p.add_argument("--organization-id", default="", help="o-...; default: Organizations DescribeOrganization")
    p.add_argument("--exclude-accounts", default="", help="accounts of the OUs to leave out (the central account, if it is in them)")
    p.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE", help="a template parameter (repeatable)")
    p.add_argument("--build-dir", default=os.path.join(ROOT, ".aws-sam", "build"), help="sam build's output")
    p.add_argument("--template", default=os.path.join(ROOT, "template.yaml"))
    p.add_argument("--render", metavar="FILE", help="write the processed template to FILE and stop")
    p.add_argument("--dry-run", action="store_true", help="print the plan; call nothing")
    p.add_argument("--no-wait", action="store_true", help="start the operations, do not wait for them")
    p.add_argument("--wait-minutes", type=int, default=60)
    args = p.parse_args(argv)
    args.regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    args.ous = [o.strip() for o in args.ou.split(",") if o.strip()]
    args.excluded = [a.strip() for a in args.exclude_accounts.split(",") if a.strip()]
    if not args.regions:
        raise Refused("--regions names no region")
    if not args.render and not args.ous:
        raise Refused("--ou names no organisational unit (ou-... or the root r-...)")
    for account in args.excluded:
        if not (len(account) == 12 and account.isdigit()):
            raise Refused(f"--exclude-accounts: {account!r} is not a 12-digit account id")
    params = {}
    for raw in args.parameter:
        key, sep, value = raw.partition("=")
        if not sep or not key:
            raise Refused(f"--parameter {raw!r}: expected KEY=VALUE")
        params[key.strip()] = value
    args.params = params
    return args


# --- package -------------------------------------------------------------------------------------

def zip_function(directory):
    """The function's directory as a zip, byte for byte the same for the same files: entries
    sorted, fixed timestamps, the bootstrap executable."""
    if not os.path.isfile(os.path.join(directory, "bootstrap")):
        raise Refused(f"{directory}/bootstrap is missing: run `bash scripts/sam.sh build` first (or pass --build-dir)")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for base, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(base, name)
                info = zipfile.ZipInfo(os.path.relpath(path, directory), date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as f:
                    archive.writestr(info, f.read())
    return buffer.getvalue()


def package(build_dir):
    """{function: (key, bytes)} for each function of the template."""
    out = {}
    for function in FUNCTIONS:
        data = zip_function(os.path.join(build_dir, function))
        out[function] = (f"cache-sentinel/{function}-{hashlib.sha256(data).hexdigest()}.zip", data)
    return out


# --- render --------------------------------------------------------------------------------------

def render(template_path, prefix, code):
    """The processed template: no transform, each function's code in `<prefix>-${AWS::Region}`."""
    import template_json

    template = template_json.decode(template_path)
    for function, (key, _) in code.items():
        resource = template["Resources"].get(function)
        if not resource or resource.get("Type") != "AWS::Serverless::Function":
            raise Refused(f"{template_path} has no function {function}")
        resource["Properties"]["CodeUri"] = f"s3://{prefix}-placeholder/{key}"
    processed = template_json.transform(template)
    for function, (key, _) in code.items():
        resource = processed["Resources"][function]
        resource["Properties"]["Code"] = {"S3Bucket": {"Fn::Sub": f"{prefix}-${{AWS::Region}}"}, "S3Key": key}
    leftovers = [i for i, r in processed["Resources"].items() if r.get("Type", "").startswith("AWS::Serverless::")]
    if "Transform" in processed or leftovers:
        raise Refused(f"the processed template still needs the SAM transform ({leftovers})")
    return processed


# --- AWS -----------------------------------------------------------------------------------------

def bucket_policy(bucket, org_id, partition):
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OrganizationReadsCode", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"{arn}/*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}}},
            {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    }


def partition_of(region):
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


class Deployer:
    def __init__(self, args, session, say):
        self.args, self.session, self.say = args, session, say
        self.cfn = session.client("cloudformation", region_name=args.regions[0])

    def s3(self, region):
        return self.session.client("s3", region_name=region)

    def ensure_bucket(self, region, org_id):
        """The region's artifact bucket: created and tagged if missing; refused if someone else's."""
        from botocore.exceptions import ClientError

        s3, bucket = self.s3(region), f"{self.args.artifacts_prefix}-{region}"
        try:
            s3.head_bucket(Bucket=bucket)
            exists = True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise Refused(f"bucket {bucket}: {e}") from e
            exists = False
        if exists:
            try:
                tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
            except ClientError:
                tags = {}
            if tags.get(OWNER_TAG[0]) != OWNER_TAG[1]:
                raise Refused(f"bucket {bucket} exists and is not tagged {OWNER_TAG[0]}={OWNER_TAG[1]}: not ours, not changed; choose another --artifacts-prefix")
            self.say(f"artifact bucket {bucket}: exists (ours)")
        else:
            config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **config)
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": OWNER_TAG[0], "Value": OWNER_TAG[1]}]})
            self.say(f"artifact bucket {bucket}: created")
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(bucket_policy(bucket, org_id, partition_of(region))))
        return bucket

    def upload(self, region, bucket, key, data):
        from botocore.exceptions import ClientError

        s3 = self.s3(region)
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return False
        except ClientError:
            s3.put_object(Bucket=bucket, Key=key, Body=data)
            return True

    def stack_set_exists(self):
        """Whether our StackSet exists; one of that name without our tag is refused, not updated."""
        kwargs = {"Status": "ACTIVE", "CallAs": self.args.call_as}
        while True:
            page = self.cfn.list_stack_sets(**kwargs)
            if any(s.get("StackSetName") == self.args.stack_set_name for s in page.get("Summaries", [])):
                break
            if not page.get("NextToken"):
                return False
            kwargs["NextToken"] = page["NextToken"]
        described = self.cfn.describe_stack_set(StackSetName=self.args.stack_set_name, CallAs=self.args.call_as)
        tags = {t["Key"]: t["Value"] for t in described["StackSet"].get("Tags", [])}
        if tags.get(STACK_SET_TAG[0]) != STACK_SET_TAG[1]:
            raise Refused(
                f"a StackSet named {self.args.stack_set_name} exists and is not tagged {STACK_SET_TAG[0]}={STACK_SET_TAG[1]}: "
                "not ours, not changed; choose another --stack-set-name")
        return True

    def instances(self):
        """(OU or None, region) of every stack instance there is."""
        found, kwargs = set(), {"StackSetName": self.args.stack_set_name, "CallAs": self.args.call_as}
        while True:
            page = self.cfn.list_stack_instances(**kwargs)
            found.update((i.get("OrganizationalUnitId"), i["Region"]) for i in page.get("Summaries", []))
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    def wait(self, operation_id):
        if self.args.no_wait:
            self.say(f"operation {operation_id}: started (not waiting)")
            return "STARTED"
        deadline = time.time() + self.args.wait_minutes * 60
        while True:
            op = self.cfn.describe_stack_set_operation(
                StackSetName=self.args.stack_set_name, OperationId=operation_id, CallAs=self.args.call_as)["StackSetOperation"]
            status = op.get("Status")
            if status not in ("RUNNING", "QUEUED", "STOPPING"):
                self.say(f"operation {operation_id} ({op.get('Action')}): {status}")
                return status
            if time.time() > deadline:
                raise Refused(f"operation {operation_id} still {status} after {self.args.wait_minutes} min; see the StackSet's operations")
            time.sleep(10)


def stack_set_request(args, template_url, params):
    return {
        "StackSetName": args.stack_set_name,
        "Description": "cache-sentinel: CodeBuild projects kept on a working S3 cache (docs/org.md)",
        "TemplateURL": template_url,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(params.items())],
        "Capabilities": CAPABILITIES,
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "ManagedExecution": {"Active": True},
        "Tags": [{"Key": STACK_SET_TAG[0], "Value": STACK_SET_TAG[1]}],
        "CallAs": args.call_as,
    }


def missing_instances(ous, regions, existing):
    """[(OUs, regions)] to create: each OU in each region without an instance, grouped by the OUs
    a region lacks. Instances that name no OU count for their region as a whole."""
    whole_regions = {region for ou, region in existing if ou is None}
    by_ous = {}
    for region in regions:
        lacking = tuple(ou for ou in ous if (ou, region) not in existing and region not in whole_regions)
        if lacking:
            by_ous.setdefault(lacking, []).append(region)
    return [(list(o), r) for o, r in by_ous.items()]


def deployment_targets(args, ous=None):
    targets = {"OrganizationalUnitIds": ous if ous is not None else args.ous}
    if args.excluded:
        targets.update({"Accounts": args.excluded, "AccountFilterType": "DIFFERENCE"})
    return targets


def main(argv):
    say = lambda line: print(f"stackset: {line}", file=sys.stderr)  # noqa: E731
    args = parse_args(argv)
    code = package(args.build_dir)
    processed = render(args.template, args.artifacts_prefix, code)
    body = json.dumps(processed, indent=1, sort_keys=True)
    if args.render:
        with open(args.render, "w") as f:
            f.write(body + "\n")
        say(f"processed template written to {args.render}")
        return 0
    declared = processed.get("Parameters", {})
    unknown = [k for k in args.params if k not in declared]
    if unknown:
        raise Refused(f"--parameter {unknown[0]}: the template has no such parameter")
    template_key = f"cache-sentinel/template-{hashlib.sha256(body.encode()).hexdigest()}.json"
    first = args.regions[0]
    template_url = f"https://s3.{first}.amazonaws.com/{args.artifacts_prefix}-{first}/{template_key}"
    params = dict(args.params)

    if args.dry_run:
        params.setdefault("AuditTrustedAccount", "<the caller's account>")
        params.setdefault("AuditRoleRegion", first)
        plan = {
            "artifact_buckets": [f"{args.artifacts_prefix}-{r}" for r in args.regions],
            "objects": sorted([k for k, _ in code.values()] + [template_key]),
            "create_or_update_stack_set": stack_set_request(args, template_url, params),
            "create_stack_instances": {"DeploymentTargets": deployment_targets(args), "Regions": args.regions,
                                       "OperationPreferences": OPERATION_PREFERENCES},
        }
        print(json.dumps(plan, indent=1))
        return 0

    import boto3

    session = boto3.session.Session()
    caller = session.client("sts", region_name=first).get_caller_identity()["Account"]
    params.setdefault("AuditTrustedAccount", caller)
    params.setdefault("AuditRoleRegion", first)
    org_id = args.organization_id or session.client("organizations", region_name=first).describe_organization()["Organization"]["Id"]
    deployer = Deployer(args, session, say)
    uploaded = 0
    for region in args.regions:
        bucket = deployer.ensure_bucket(region, org_id)
        for key, data in code.values():
            uploaded += deployer.upload(region, bucket, key, data)
    deployer.upload(first, f"{args.artifacts_prefix}-{first}", template_key, body.encode())
    say(f"code: {uploaded} object(s) uploaded, the rest already there")

    request = stack_set_request(args, template_url, params)
    report = {"stack_set": args.stack_set_name, "organization": org_id, "operations": []}
    if deployer.stack_set_exists():
        update = {k: v for k, v in request.items() if k != "PermissionModel"}
        update["OperationPreferences"] = OPERATION_PREFERENCES
        op = deployer.cfn.update_stack_set(**update)["OperationId"]
        report["operations"].append({"action": "update", "id": op, "status": deployer.wait(op)})
        report["created"] = False
    else:
        deployer.cfn.create_stack_set(**request)
        report["created"] = True
        say(f"stack set {args.stack_set_name}: created")
    for ous, regions in missing_instances(args.ous, args.regions, deployer.instances()):
        op = deployer.cfn.create_stack_instances(
            StackSetName=args.stack_set_name, DeploymentTargets=deployment_targets(args, ous), Regions=regions,
            OperationPreferences=OPERATION_PREFERENCES, CallAs=args.call_as)["OperationId"]
        entry = {"action": "create_instances", "ous": ous, "regions": regions, "id": op}
        entry["status"] = deployer.wait(op)
        report["operations"].append(entry)
    failed = [o for o in report["operations"] if o["status"] not in ("SUCCEEDED", "STARTED")]
    print(json.dumps(report, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Refused as why:
        print(f"stackset: {why}", file=sys.stderr)
        sys.exit(2)
    except Exception as err:  # botocore's errors name the call and AWS's code
        print(f"stackset: {type(err).__name__}: {err}", file=sys.stderr)
        sys.exit(2)
