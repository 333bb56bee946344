//! `cache-sentinel audit --accounts/--organization/--regions` against the emulator with several
//! accounts (STS AssumeRole: credentials of an assumed role act in the role's account; the harness
//! refuses a role that does not exist or does not trust the caller, as IAM does). Each account's
//! projects are found through its `cache-sentinel-audit` role, and an account without the role is
//! its own error row while the others are audited.

use crate::support::{self, run, with_cache};
use cache_sentinel::aws::Clients;
use cache_sentinel::testing::{self, local_docker_cache, s3_cache};
use serde_json::Value;

/// Regions no other test uses, so the caller's own account holds nothing of theirs there.
const REGION: &str = "ap-southeast-2";
const OTHER_REGION: &str = "eu-central-1";
const WITH_ROLE_A: &str = "310000000001";
const WITH_ROLE_B: &str = "310000000002";
const WITHOUT_ROLE: &str = "310000000003";

/// Clients acting in `account` (the emulator's OrganizationAccountAccessRole, which Organizations
/// creates in every account it creates, trusting the management account).
async fn clients_in(account: &str, region: &str) -> Clients {
    let base = support::clients(region).await;
    let role = format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole");
    let sdk = cache_sentinel::aws::session::assume(&base.sdk, &role, region).await.expect("assume the admin role");
    Clients::from_sdk_config(sdk)
}

/// The stack's audit role in the clients' account, trusting the caller's account (kept if there).
async fn audit_role(clients: &Clients) {
    let iam = aws_sdk_iam::Client::new(&clients.sdk);
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
        testing::ACCOUNT
    );
    let _ = iam.create_role().role_name("cache-sentinel-audit").assume_role_policy_document(trust).send().await;
}

/// An account with its conventional cache bucket, a service role that may use it, and `project`
/// with `cache` (None: the conventional location).
async fn account_with(account: &str, project: &str, local: bool, role: bool) -> Clients {
    let clients = clients_in(account, REGION).await;
    let bucket = format!("codebuild-cache-{account}-{REGION}");
    support::bucket(&clients, &bucket).await;
    let service_role = testing::cache_role(&clients, &bucket).await;
    let cache = if local { local_docker_cache() } else { s3_cache(&format!("{bucket}/{project}")) };
    support::project(&clients, with_cache(project, cache).service_role(&service_role), &[]).await;
    if role {
        audit_role(&clients).await;
    }
    clients
}

/// Organizations of the emulator's default account, its organisation made if there is none yet
/// (another test binary on the same emulator may make it meanwhile: then it is there).
async fn organization(base: &Clients) -> aws_sdk_organizations::Client {
    let org = aws_sdk_organizations::Client::new(&base.sdk);
    if org.describe_organization().send().await.is_err() {
        let made = org
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await;
        assert!(made.is_ok() || org.describe_organization().send().await.is_ok(), "{made:?}");
    }
    org
}

fn outcome<'a>(json: &'a Value, account: &str, region: &str) -> &'a Value {
    json["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["account"] == account && t["region"] == region)
        .unwrap_or_else(|| panic!("no line for {account} {region}: {json}"))
}

fn projects(target: &Value) -> Vec<&str> {
    target["projects"].as_array().map(|p| p.iter().filter_map(|p| p["project"].as_str()).collect()).unwrap_or_default()
}

#[tokio::test]
async fn each_accounts_projects_are_found_through_its_role_and_an_account_without_it_is_its_own_error() {
    account_with(WITH_ROLE_A, "across-a-local", true, true).await;
    account_with(WITH_ROLE_B, "across-b-healthy", false, true).await;
    account_with(WITHOUT_ROLE, "across-c-hidden", false, false).await;
    let accounts = format!("{WITH_ROLE_A},{WITH_ROLE_B},{WITHOUT_ROLE}");
    let regions = format!("{REGION},{OTHER_REGION}");
    let args = [
        "--region",
        REGION,
        "--json",
        "audit",
        "--project",
        "across-*",
        "--accounts",
        &accounts,
        "--regions",
        &regions,
    ];
    let out = run(&args);
    assert_eq!(out.code, 2, "an account with an error: exit 2, the rest still printed: {out:?}");
    let json = out.json();

    let a = outcome(&json, WITH_ROLE_A, REGION);
    assert_eq!(a["outcome"], "audited", "{a}");
    assert_eq!(a["via"], "role");
    assert_eq!(a["role"], format!("arn:aws:iam::{WITH_ROLE_A}:role/cache-sentinel-audit"));
    assert_eq!(projects(a), ["across-a-local"], "only account A's project, read in account A");
    assert_eq!(a["bucket"], format!("codebuild-cache-{WITH_ROLE_A}-{REGION}"));
    assert_eq!(a["projects"][0]["guard"]["action"], "heal", "{a}");
    let b = outcome(&json, WITH_ROLE_B, REGION);
    assert_eq!(projects(b), ["across-b-healthy"]);
    assert_eq!(outcome(&json, WITH_ROLE_A, OTHER_REGION)["outcome"], "audited");
    assert!(projects(outcome(&json, WITH_ROLE_A, OTHER_REGION)).is_empty(), "nothing in the other region");

    for region in [REGION, OTHER_REGION] {
        let c = outcome(&json, WITHOUT_ROLE, region);
        assert_eq!(c["outcome"], "failed", "{c}");
        let error = c["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("cannot assume arn:aws:iam::{WITHOUT_ROLE}:role/cache-sentinel-audit")),
            "{error}"
        );
        assert!(error.contains("AccessDenied") && error.contains("AuditTrustedAccount=123456789012"), "{error}");
    }
    let summary: Vec<&Value> = json["accounts"].as_array().unwrap().iter().collect();
    assert_eq!(summary.len(), 3);
    assert_eq!((summary[0]["audited"].as_u64(), summary[0]["needing_attention"].as_u64()), (Some(2), Some(1)));
    assert_eq!((summary[2]["audited"].as_u64(), summary[2]["errors"].as_u64()), (Some(0), Some(2)));
    assert_eq!(json["errors"], 2);
    assert_eq!(json["needs_attention"], 1);

    // The table: ACCOUNT and REGION columns, the summary per account, the account's error said once.
    let text = run(&args[..2].iter().chain(&args[3..]).copied().collect::<Vec<_>>());
    assert_eq!(text.code, 2, "{text:?}");
    for part in [
        "Audit of 3 accounts in 2 regions: 2 projects, 1 needing attention, 2 errors",
        "ACCOUNT",
        "REGION",
        "REGIONS AUDITED",
        &format!("{WITH_ROLE_A} {REGION} across-a-local"),
        &format!("Error: {WITHOUT_ROLE} {REGION}, {OTHER_REGION}: cannot assume"),
    ] {
        assert!(text.stdout.contains(part), "{part:?} not in\n{}", text.stdout);
    }
    let row = text.stdout.lines().find(|l| l.contains("across-b-healthy")).expect("B's row");
    assert!(row.starts_with(&format!(" {WITH_ROLE_B}")) && row.contains(REGION), "{row}");
}

#[tokio::test]
async fn the_organizations_accounts_are_listed_and_the_callers_own_is_read_with_its_own_credentials() {
    let base = support::clients(OTHER_REGION).await;
    let org = organization(&base).await;
    let listed = org.list_accounts().send().await.expect("accounts");
    let mut ids = Vec::new();
    for name in ["across-org-member", "across-org-new"] {
        let id = match listed.accounts().iter().find(|a| a.name() == Some(name)) {
            Some(a) => a.id().unwrap().to_owned(),
            None => {
                let made = org
                    .create_account()
                    .account_name(name)
                    .email(format!("{name}@example.com"))
                    .send()
                    .await
                    .expect("account");
                made.create_account_status.and_then(|s| s.account_id).expect("account id")
            }
        };
        ids.push(id);
    }
    // The member has the stack's role and a project; the new account has neither yet.
    let member = clients_in(&ids[0], OTHER_REGION).await;
    let bucket = format!("codebuild-cache-{}-{OTHER_REGION}", ids[0]);
    support::bucket(&member, &bucket).await;
    let service_role = testing::cache_role(&member, &bucket).await;
    support::project(&member, with_cache("across-org-app", local_docker_cache()).service_role(&service_role), &[])
        .await;
    audit_role(&member).await;
    let caller = support::clients(OTHER_REGION).await;
    support::project(&caller, with_cache("across-org-mine", local_docker_cache()), &[]).await;

    let out = run(&["--region", OTHER_REGION, "--json", "audit", "--organization", "--project", "across-org-*"]);
    assert_eq!(out.code, 2, "{out:?}");
    let json = out.json();
    let mine = outcome(&json, testing::ACCOUNT, OTHER_REGION);
    assert_eq!((mine["via"].as_str(), mine["outcome"].as_str()), (Some("caller"), Some("audited")), "{mine}");
    assert_eq!(projects(mine), ["across-org-mine"]);
    let member_line = outcome(&json, &ids[0], OTHER_REGION);
    assert_eq!(projects(member_line), ["across-org-app"], "{member_line}");
    assert_eq!(member_line["name"], "across-org-member");
    assert_eq!(outcome(&json, &ids[1], OTHER_REGION)["outcome"], "failed");
}

#[test]
fn bad_accounts_and_regions_and_asff_across_accounts_are_refused_before_any_call() {
    for (args, needle) in [
        (vec!["audit", "--accounts", "12345"], "\"12345\" is not an AWS account id"),
        (vec!["audit", "--accounts", "111111111111", "--regions", "mumbai"], "\"mumbai\" is not an AWS region name"),
        (vec!["audit", "--organization", "--format", "asff"], "--format asff is for one account"),
    ] {
        let mut argv = vec!["--region", REGION];
        argv.extend(args);
        let out = run(&argv);
        out.assert_clean_error();
        assert!(out.stderr.contains(needle), "{needle}: {out:?}");
    }
}

/// `audit --organization` run with the credentials of `account` (through the emulator's
/// OrganizationAccountAccessRole).
async fn organization_audit_as(account: &str) -> support::Run {
    let base = support::clients(REGION).await;
    let role = format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole");
    let out = aws_sdk_sts::Client::new(&base.sdk)
        .assume_role()
        .role_arn(role)
        .role_session_name("outside")
        .send()
        .await
        .expect("assume");
    let c = out.credentials.expect("credentials");
    let run = support::command(&["--region", REGION, "audit", "--organization"])
        .env("AWS_ACCESS_KEY_ID", c.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", c.secret_access_key)
        .env("AWS_SESSION_TOKEN", c.session_token)
        .output()
        .expect("run");
    support::Run::from(run)
}

#[tokio::test]
async fn organization_from_an_account_that_may_not_list_the_organisation_says_who_may() {
    let outside = organization_audit_as("310000000009").await;
    outside.assert_clean_error();
    assert!(outside.stderr.contains("--organization: this account is not in an organisation"), "{outside:?}");
    assert!(outside.stderr.contains("--accounts"), "{outside:?}");

    // A member account that is no delegated administrator.
    let base = support::clients(OTHER_REGION).await;
    let org = organization(&base).await;
    let name = cache_sentinel::testing::unique("across-member");
    let made =
        org.create_account().account_name(&name).email(format!("{name}@example.com")).send().await.expect("account");
    let member = made.create_account_status.and_then(|s| s.account_id).expect("account id");
    let denied = organization_audit_as(&member).await;
    denied.assert_clean_error();
    assert!(denied.stderr.contains("access denied: organizations:ListAccounts"), "{denied:?}");
    assert!(denied.stderr.contains("management account and delegated administrators"), "{denied:?}");
}
