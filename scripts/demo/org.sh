# Part of scripts/demo.sh (sourced): many accounts. Two more accounts of the emulator (set up through
# OrganizationAccountAccessRole, as an administrator would): one whose stack made the read-only
# role cache-sentinel-audit (trusting this account) and has a project on a LOCAL cache, one with a
# project but no stack yet. `cache-sentinel audit --accounts` reads both from here (docs/org.md).

say "6. Many accounts: cache-sentinel audit --accounts"
"$ROOT/.venv/bin/python" - <<'PY'
import json
import boto3

def session_in(account):
    c = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="demo-admin")["Credentials"]
    return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"], region_name="ap-south-1")

trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}]}
for account, project, with_stack in (("111111111111", "payments-api-build", True), ("222222222222", "ml-training-build", False)):
    s = session_in(account)
    s.client("iam").create_role(RoleName=f"codebuild-{project}", Path="/service-role/", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    s.client("s3").create_bucket(Bucket=f"codebuild-cache-{account}-ap-south-1",
                                 CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    s.client("codebuild").create_project(
        name=project, source={"type": "CODECOMMIT", "location": f"https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/{project}",
                              "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - make\n"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_MEDIUM",
                     "privilegedMode": True},
        serviceRole=f"arn:aws:iam::{account}:role/service-role/codebuild-{project}",
        cache={"type": "LOCAL", "modes": ["LOCAL_DOCKER_LAYER_CACHE"]})
    if with_stack:  # what AuditTrustedAccount=123456789012 makes
        s.client("iam").create_role(RoleName="cache-sentinel-audit", AssumeRolePolicyDocument=json.dumps(trust))
PY
echo "\$ cache-sentinel audit --accounts 111111111111,222222222222 --project '*-build'"
status=0
"$CLI" audit --accounts 111111111111,222222222222 --project '*-build' || status=$?
echo "(exit code $status: 222222222222 has no cache-sentinel-audit role yet, so its line is an error and the"
echo " exit code 2; 111111111111 is audited through its role all the same)"
