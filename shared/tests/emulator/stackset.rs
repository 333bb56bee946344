//! scripts/org/stackset.py, the organisation's deployment (docs/org.md), against the emulator:
//! moto's Organizations (an OU with two accounts) and CloudFormation StackSets with service-managed
//! permissions (moto records the stack set, its template and the stack instances of the OU's
//! accounts; it deploys no resources into them, and its operations succeed at once). What moto
//! cannot tell, that StackSets refuse the SAM transform, is why the script deploys the processed
//! template: its rendering is linted with cfn-lint here, and its artifact buckets are checked with
//! the S3 SDK: one per region, tagged as the script's, the code readable by the organisation only.

use cache_sentinel::testing;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REGIONS: [&str; 2] = ["eu-west-1", "eu-north-1"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn python() -> Command {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `bash scripts/lint-install.sh`", python.display());
    Command::new(python)
}

/// A stand-in for `sam build`'s output: each function's directory with an executable bootstrap.
fn fake_build() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(testing::unique("org-build"));
    for function in ["CacheGuardFunction", "CachePrunerFunction", "BuildTimeMonitorFunction"] {
        std::fs::create_dir_all(dir.join(function)).unwrap();
        let bootstrap = dir.join(function).join("bootstrap");
        std::fs::write(&bootstrap, format!("binary of {function}")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn stackset(args: &[&str]) -> Output {
    python().arg(root().join("scripts/org/stackset.py")).args(args).output().expect("run stackset.py")
}

/// boto3 against the emulator (the Rust workspace has no CloudFormation or Organizations client).
fn boto3(code: &str) -> Value {
    let out = python().arg("-c").arg(format!("import boto3, json\n{code}")).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// An OU of the emulator's organisation with two new accounts in it: (org id, OU id, accounts).
fn organisation_unit() -> (String, String, Vec<String>) {
    let name = testing::unique("org-ou");
    let made = boto3(&format!(
        r#"
org = boto3.client("organizations", region_name="us-east-1")
try:
    org.describe_organization()
except Exception:
    try:
        org.create_organization(FeatureSet="ALL")
    except Exception:
        pass  # another test made it meanwhile
org_id = org.describe_organization()["Organization"]["Id"]
root = org.list_roots()["Roots"][0]["Id"]
ou = org.create_organizational_unit(ParentId=root, Name="{name}")["OrganizationalUnit"]["Id"]
accounts = []
for i in range(2):
    made = org.create_account(AccountName="{name}-%d" % i, Email="{name}-%d@example.com" % i)
    account = made["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    accounts.append(account)
print(json.dumps({{"org": org_id, "ou": ou, "accounts": accounts}}))
"#
    ));
    let accounts = made["accounts"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    (made["org"].as_str().unwrap().to_owned(), made["ou"].as_str().unwrap().to_owned(), accounts)
}

#[test]
fn the_processed_template_needs_no_transform_passes_cfn_lint_and_takes_code_from_each_regions_bucket() {
    let build = fake_build();
    let out_file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(testing::unique("org-template")).with_extension("json");
    let out = stackset(&[
        "--regions",
        "eu-west-1",
        "--artifacts-prefix",
        "acme-artifacts",
        "--build-dir",
        build.to_str().unwrap(),
        "--render",
        out_file.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let template: Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert!(template.get("Transform").is_none(), "StackSets with service-managed permissions refuse transforms");
    let resources = template["Resources"].as_object().unwrap();
    assert!(resources.values().all(|r| !r["Type"].as_str().unwrap().starts_with("AWS::Serverless::")));
    for function in ["CacheGuardFunction", "CachePrunerFunction", "BuildTimeMonitorFunction"] {
        let code = &resources[function]["Properties"]["Code"];
        assert_eq!(code["S3Bucket"]["Fn::Sub"], "acme-artifacts-${AWS::Region}", "{function}: {code}");
        assert!(code["S3Key"].as_str().unwrap().starts_with(&format!("cache-sentinel/{function}-")), "{code}");
    }
    assert!(resources.contains_key("AuditRole") && resources.contains_key("NotificationTopicPolicy"), "one template");
    let lint = Command::new(root().join(".venv/bin/cfn-lint")).arg(&out_file).output().expect("cfn-lint");
    assert!(lint.status.success(), "cfn-lint: {}", String::from_utf8_lossy(&lint.stdout));
}

#[tokio::test]
async fn the_stack_set_reaches_every_account_of_the_ou_in_each_region_and_a_rerun_updates_it_in_place() {
    let clients = testing::emulator_clients().await;
    let (org_id, ou, accounts) = organisation_unit();
    let build = fake_build();
    let prefix = testing::unique("org-artifacts");
    let name = testing::unique("cache-sentinel-org");
    let regions = REGIONS.join(",");
    let args = [
        "--ou",
        &ou,
        "--regions",
        &regions,
        "--artifacts-prefix",
        &prefix,
        "--build-dir",
        build.to_str().unwrap(),
        "--stack-set-name",
        &name,
        "--parameter",
        "DryRun=false",
    ];
    let first = stackset(&args);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let report: Value = serde_json::from_slice(&first.stdout).expect("the report");
    assert_eq!(report["created"], true, "{report}");
    assert_eq!(report["organization"], org_id.as_str());
    let creates: Vec<&Value> = report["operations"].as_array().unwrap().iter().collect();
    assert_eq!(creates.len(), 1, "{report}");
    assert_eq!(creates[0]["action"], "create_instances");
    assert_eq!(creates[0]["status"], "SUCCEEDED");

    let deployed = boto3(&format!(
        r#"
cfn = boto3.client("cloudformation", region_name="{r0}")
s = cfn.describe_stack_set(StackSetName="{name}")["StackSet"]
instances = cfn.list_stack_instances(StackSetName="{name}")["Summaries"]
print(json.dumps({{"model": s.get("PermissionModel"), "template": s["TemplateBody"],
    "parameters": {{p["ParameterKey"]: p["ParameterValue"] for p in s.get("Parameters", [])}},
    "tags": {{t["Key"]: t["Value"] for t in s.get("Tags", [])}},
    "instances": sorted([i["Account"], i["Region"]] for i in instances)}}))
"#,
        r0 = REGIONS[0]
    ));
    assert_eq!(deployed["model"], "SERVICE_MANAGED");
    assert_eq!(deployed["tags"]["cache-sentinel:stack-set"], "true", "ours, so a rerun may update it");
    let template: Value = serde_json::from_str(deployed["template"].as_str().unwrap()).unwrap();
    assert!(template.get("Transform").is_none());
    assert_eq!(deployed["parameters"]["AuditTrustedAccount"], testing::ACCOUNT, "the caller audits the organisation");
    assert_eq!(deployed["parameters"]["AuditRoleRegion"], REGIONS[0], "one audit role per account");
    assert_eq!(deployed["parameters"]["DryRun"], "false");
    let mut expected: Vec<Value> =
        accounts.iter().flat_map(|a| REGIONS.iter().map(move |r| serde_json::json!([a, r]))).collect();
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(deployed["instances"].as_array().unwrap(), &expected, "each account of the OU in each region");

    // The code in each region's bucket, which the script made, tagged and opened to the organisation only.
    for region in REGIONS {
        let s3 = testing::emulator_clients_in(region).await.s3;
        let bucket = format!("{prefix}-{region}");
        let keys: Vec<String> = s3
            .list_objects_v2()
            .bucket(&bucket)
            .send()
            .await
            .expect("artifact bucket")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect();
        assert_eq!(keys.iter().filter(|k| k.ends_with(".zip")).count(), 3, "{region}: {keys:?}");
        let policy = s3.get_bucket_policy().bucket(&bucket).send().await.expect("policy").policy.unwrap();
        let policy: Value = serde_json::from_str(&policy).unwrap();
        let read = &policy["Statement"][0];
        assert_eq!((read["Action"].as_str(), read["Principal"].as_str()), (Some("s3:GetObject"), Some("*")));
        assert_eq!(read["Condition"]["StringEquals"]["aws:PrincipalOrgID"], org_id.as_str());
        let tags = s3.get_bucket_tagging().bucket(&bucket).send().await.expect("tags");
        assert!(tags.tag_set().iter().any(|t| t.key() == "cache-sentinel:artifacts" && t.value() == "true"));
    }

    // Again: the same stack set updated in place, no instance twice, nothing uploaded again.
    let second = stackset(&args);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    let report: Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(report["created"], false, "{report}");
    let actions: Vec<&str> =
        report["operations"].as_array().unwrap().iter().filter_map(|o| o["action"].as_str()).collect();
    assert_eq!(actions, ["update"], "{report}");
    assert!(String::from_utf8_lossy(&second.stderr).contains("code: 0 object(s) uploaded"), "{second:?}");
    let count = boto3(&format!(
        r#"print(len(boto3.client("cloudformation", region_name="{}").list_stack_instances(StackSetName="{name}")["Summaries"]))"#,
        REGIONS[0]
    ));
    assert_eq!(count, 4);
    drop(clients);
}

/// A run in the first region for an OU of a given organisation id (no Organizations call), with
/// `extra` arguments: for the runs that must stop before changing anything.
fn refused_run(prefix: &str, extra: &[&str]) -> Output {
    let build = fake_build();
    let mut args = vec![
        "--ou",
        "ou-abcd-12345678",
        "--regions",
        REGIONS[0],
        "--artifacts-prefix",
        prefix,
        "--build-dir",
        build.to_str().unwrap(),
        "--organization-id",
        "o-abcdefghij",
    ];
    args.extend_from_slice(extra);
    stackset(&args)
}

#[tokio::test]
async fn a_bucket_of_that_name_the_script_did_not_make_is_refused_and_left_alone() {
    let prefix = testing::unique("org-theirs");
    let clients = testing::emulator_clients_in(REGIONS[0]).await;
    let bucket = format!("{prefix}-{}", REGIONS[0]);
    testing::create_bucket(&clients, &bucket).await;
    let out = refused_run(&prefix, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("bucket {bucket} exists and is not tagged cache-sentinel:artifacts=true")),
        "{stderr}"
    );
    assert!(clients.s3.get_bucket_policy().bucket(&bucket).send().await.is_err(), "no policy put on it");
    let listed = clients.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert!(listed.contents().is_empty(), "nothing uploaded to it");
}

#[tokio::test]
async fn a_stack_set_of_that_name_the_script_did_not_make_is_refused_and_left_alone() {
    let name = testing::unique("someone-elses");
    let theirs = r#"{"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}"#;
    boto3(&format!(
        r#"
cfn = boto3.client("cloudformation", region_name="{r0}")
cfn.create_stack_set(StackSetName="{name}", TemplateBody='{theirs}')
print(json.dumps(True))
"#,
        r0 = REGIONS[0]
    ));
    let out = refused_run(&testing::unique("org-artifacts"), &["--stack-set-name", &name]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("a StackSet named {name} exists and is not tagged cache-sentinel:stack-set=true")),
        "{stderr}"
    );
    let body = boto3(&format!(
        r#"print(json.dumps(boto3.client("cloudformation", region_name="{}").describe_stack_set(StackSetName="{name}")["StackSet"]["TemplateBody"]))"#,
        REGIONS[0]
    ));
    assert_eq!(body, theirs, "their template as it was");
}

#[test]
fn without_a_build_or_an_ou_the_script_says_what_to_do() {
    let empty = Path::new(env!("CARGO_TARGET_TMPDIR")).join(testing::unique("no-build"));
    std::fs::create_dir_all(&empty).unwrap();
    let out = stackset(&[
        "--ou",
        "ou-x",
        "--regions",
        "eu-west-1",
        "--artifacts-prefix",
        "p",
        "--build-dir",
        empty.to_str().unwrap(),
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run `bash scripts/sam.sh build` first"), "{out:?}");
    let out = stackset(&["--regions", "eu-west-1", "--artifacts-prefix", "p", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ou names no organisational unit"), "{out:?}");
}
