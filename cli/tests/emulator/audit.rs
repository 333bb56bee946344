//! `cache-sentinel audit` over a fixed set of projects in eu-west-3: the table people read, the
//! JSON CI reads, and the exit codes. The projects cover each thing the audit tells: a heal due, a
//! project left alone (opted out, Docker server, a shared location, a custom location), the
//! service role's access (allowed, denied with the missing actions, not checked), the last build's
//! own time against its range, and the monitor's cache evidence (working, not effective).

use crate::support::{self, assert_snapshot, run, with_cache};
use aws_sdk_codebuild::types::{ComputeType, DockerServer};
use cache_sentinel::aws::Clients;
use cache_sentinel::findings::asff::missing_required;
use cache_sentinel::monitor::evidence::Problems;
use cache_sentinel::monitor::streak::record_key;
use cache_sentinel::testing::{docker_environment, local_docker_cache, no_cache, s3_cache};
use serde_json::json;

const REGION: &str = "eu-west-3";
const BUCKET: &str = "cli-audit-cache";

fn build(start: &str, minutes: u64, source: &str, scenario: Option<&str>) -> serde_json::Value {
    let mut spec = json!({"start": start, "status": "SUCCEEDED", "sourceVersion": source,
        "phases": [["QUEUED", 30], ["BUILD", minutes * 60 - 30]]});
    if let Some(s) = scenario {
        spec["exported"] = json!({"CACHE_SENTINEL_SCENARIO": s});
    }
    spec
}

/// The monitor's records of `project`'s builds (newest last), as it writes them after each build.
async fn records(clients: &Clients, project: &str, codes: &[&str]) {
    for (i, code) in codes.iter().enumerate() {
        let start = chrono::DateTime::parse_from_rfc3339("2026-11-20T09:00:00Z").unwrap().to_utc()
            + chrono::Duration::hours(i as i64);
        let problems = Problems::from_code(code).expect("a problems code");
        let key = record_key(project, &format!("{project}:{i}"), start, &problems);
        clients.s3.put_object().bucket(BUCKET).key(key).body(b"{}".to_vec().into()).send().await.expect("record");
    }
}

async fn fixtures() {
    let clients = support::clients(REGION).await;
    support::bucket(&clients, BUCKET).await;
    // A service role that may use the cache bucket (and nothing else): the guard checks it.
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{BUCKET}/*"}},
            {{"Effect":"Allow","Action":["s3:GetBucketAcl","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::{BUCKET}"}}]}}"#
    );
    let role = support::role(&clients, "cli-audit-cache-role", &policy).await;

    let healthy = with_cache("cli-audit-healthy", s3_cache(&format!("{BUCKET}/cli-audit-healthy"))).service_role(&role);
    let builds = [build("2026-11-20T09:00:00Z", 25, "a1", None), build("2026-11-20T11:00:00Z", 6, "a1", None)];
    support::project(&clients, healthy, &builds).await;
    records(&clients, "cli-audit-healthy", &["nnnn", "nnnn"]).await;

    let local = with_cache("cli-audit-local", local_docker_cache()).service_role(&role);
    support::project(&clients, local, &[build("2026-11-20T10:00:00Z", 31, "b1", Some("app"))]).await;

    let opted_out = with_cache("cli-audit-opted-out", no_cache()).tag("cache-sentinel:ignore", "true");
    support::project(&clients, opted_out, &[]).await;

    let server = docker_environment()
        .docker_server(DockerServer::builder().compute_type(ComputeType::BuildGeneral1Large).build().unwrap())
        .build()
        .unwrap();
    let docker = with_cache("cli-audit-docker", local_docker_cache()).environment(server).service_role(&role);
    support::project(&clients, docker, &[]).await;

    let mut team = s3_cache(&format!("{BUCKET}/team-cache"));
    team.cache_namespace = Some("speech-team".into());
    support::project(&clients, with_cache("cli-audit-shared", team).service_role(&role), &[]).await;

    // On someone else's bucket, which the role may not use.
    let custom = with_cache("cli-audit-custom", s3_cache("someone-elses-cache/x")).service_role(&role);
    support::project(&clients, custom, &[]).await;

    // On the S3 cache, but its buildspec caches nothing: three builds in a row showed it.
    let nocache = with_cache("cli-audit-nocache", s3_cache(&format!("{BUCKET}/cli-audit-nocache"))).service_role(&role);
    support::project(&clients, nocache, &[]).await;
    records(&clients, "cli-audit-nocache", &["nnnn", "yyy-", "yyy-", "yyy-"]).await;
}

#[tokio::test]
async fn audit_shows_what_needs_attention_and_exits_1() {
    fixtures().await;
    let args = ["--region", REGION, "--bucket", BUCKET, "audit", "--project", "cli-audit-*"];
    let human = run(&args);
    assert_eq!(human.code, 1, "{human:?}");
    assert_snapshot("audit", &human.stdout);

    let out = run(&[&args[..], &["--json"]].concat());
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.json();
    assert_eq!(report["needs_attention"], 3, "local, custom, nocache");
    assert_eq!(report["errors"], 0);
    assert_eq!(report["bucket"], BUCKET);
    let projects = report["projects"].as_array().unwrap();
    let names: Vec<&str> = projects.iter().map(|p| p["project"].as_str().unwrap()).collect();
    let expected =
        ["custom", "docker", "healthy", "local", "nocache", "opted-out", "shared"].map(|n| format!("cli-audit-{n}"));
    assert_eq!(names, expected);
    let by = |name: &str| projects.iter().find(|p| p["project"] == format!("cli-audit-{name}")).unwrap();

    assert_eq!(by("local")["guard"]["action"], "heal");
    assert_eq!(by("local")["guard"]["after"]["location"], "cli-audit-cache/cli-audit-local");
    assert_eq!(by("local")["access"]["status"], "checked");
    assert_eq!(by("local")["access"]["location"], "cli-audit-cache/cli-audit-local", "the location it would get");
    assert_eq!(by("local")["access"]["result"]["access"], "granted");
    assert_eq!(by("local")["last_build"]["over_expected"], true);
    assert_eq!(by("local")["last_build"]["judged_seconds"], 31 * 60 - 30, "net of the 30 s queued");
    assert_eq!(by("local")["attention"].as_array().unwrap().len(), 2);

    assert_eq!(by("healthy")["guard"]["action"], "no_change");
    assert!(by("healthy")["guard"].get("leave").is_none());
    assert_eq!(by("healthy")["access"]["result"]["access"], "granted", "checked for the cache in use too");
    assert_eq!(by("healthy")["last_build"]["scenario"], "no_change");
    assert_eq!(by("healthy")["last_build"]["duration_seconds"], 360);
    assert_eq!(by("healthy")["evidence"]["status"], "read");
    assert_eq!(by("healthy")["evidence"]["records"], 2);
    assert_eq!(by("healthy")["evidence"]["not_effective"], json!([]));

    assert_eq!(by("opted-out")["guard"]["leave"], json!({"because": "opted_out", "tag": "cache-sentinel:ignore=true"}));
    assert_eq!(by("opted-out")["access"]["status"], "not_checked");
    assert_eq!(by("docker")["guard"]["action"], "keep");
    assert_eq!(by("docker")["guard"]["leave"]["because"], "docker_server");
    assert_eq!(by("shared")["guard"]["leave"], json!({"because": "shared_location", "namespace": "speech-team"}));
    assert_eq!(by("custom")["guard"]["leave"]["because"], "custom_location");

    let denied = &by("custom")["access"];
    assert_eq!(denied["location"], "someone-elses-cache/x");
    assert_eq!(denied["result"]["access"], "denied");
    let missing: Vec<&str> =
        denied["result"]["denied"].as_array().unwrap().iter().map(|d| d["action"].as_str().unwrap()).collect();
    assert_eq!(missing, ["s3:GetObject", "s3:PutObject"]);
    assert!(by("custom")["advice"][0].as_str().unwrap().contains("arn:aws:s3:::someone-elses-cache/x/*"));

    let nocache = &by("nocache")["evidence"];
    assert_eq!(nocache["not_effective"], json!(["no-restore", "no-upload", "cache-not-defined"]));
    assert_eq!(by("nocache")["attention"].as_array().unwrap().len(), 3);

    // The same, as Security Hub findings for a hand import: the heal due, local's slow build and
    // nocache's cache not effective, each with every field ASFF requires.
    let asff = run(&[&args[..], &["--format", "asff"]].concat());
    assert_eq!(asff.code, 1, "{asff:?}");
    let findings = asff.json();
    let ids: Vec<&str> = findings.as_array().unwrap().iter().map(|f| f["Id"].as_str().unwrap()).collect();
    let id = |kind: &str, name: &str| format!("cache-sentinel/123456789012/{REGION}/{kind}/project/cli-audit-{name}");
    for expected in
        [id("off-s3-cache", "local"), id("builds-over-range", "local"), id("cache-not-effective", "nocache")]
    {
        assert!(ids.contains(&expected.as_str()), "{expected} not in {ids:?}");
    }
    assert_eq!(ids.len(), 3, "{ids:?}");
    for finding in findings.as_array().unwrap() {
        assert!(missing_required(finding).is_empty(), "{}", finding);
        assert_eq!(
            finding["ProductArn"],
            format!("arn:aws:securityhub:{REGION}:123456789012:product/123456789012/default")
        );
    }

    // Only healthy projects: nothing needs attention.
    let ok = run(&["--region", REGION, "--bucket", BUCKET, "audit", "--project", "cli-audit-healthy", "--json"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.json()["needs_attention"], 0);

    // A missing bucket turns the heal into a refusal (the same fixtures: one test, no race).
    let args = ["--region", REGION, "--bucket", "cli-audit-no-such-bucket", "audit", "--project", "cli-audit-local"];
    let out = run(&[&args[..], &["--json"]].concat());
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.json();
    assert_eq!(report["bucket_status"]["status"], "missing");
    let line = &report["projects"][0];
    assert_eq!(line["guard"]["action"], "refuse");
    assert_eq!(line["access"]["status"], "not_checked");
    assert!(line["attention"][0].as_str().unwrap().contains("does not exist"), "{line}");
}

/// A cache bucket in another region than the projects: S3 answers 301 (x-amz-bucket-region). The
/// audit names the bucket's region, the heal it would make is refused for it, a project already on
/// that bucket needs attention; `prune` refuses the bucket (exit 2) without listing or deleting.
#[tokio::test]
async fn a_cache_bucket_in_another_region_is_named_by_audit_and_prune() {
    const HOME: &str = "ap-northeast-3"; // no other test's projects
    const FAR: &str = "us-west-2";
    const FAR_BUCKET: &str = "cli-far-cache";
    let far = support::clients(FAR).await;
    support::bucket(&far, FAR_BUCKET).await;
    far.s3.put_object().bucket(FAR_BUCKET).key("cli-far-s3/old").body(b"x".to_vec().into()).send().await.unwrap();
    let home = support::clients(HOME).await;
    support::project(&home, with_cache("cli-far-local", local_docker_cache()), &[]).await;
    support::project(&home, with_cache("cli-far-s3", s3_cache(&format!("{FAR_BUCKET}/cli-far-s3"))), &[]).await;

    let args = ["--region", HOME, "--bucket", FAR_BUCKET, "audit", "--project", "cli-far-*"];
    let human = run(&args);
    assert_eq!(human.code, 1, "{human:?}");
    assert!(
        human.stdout.contains(&format!("cache bucket {FAR_BUCKET} (in {FAR} (S3 answered 301)")),
        "{}",
        human.stdout
    );
    let out = run(&[&args[..], &["--json"]].concat());
    let report = out.json();
    assert_eq!(report["bucket_status"], json!({"status": "other_region", "region": FAR}));
    assert_eq!(report["errors"], 0, "a named condition, not a failed call: {report}");
    let projects = report["projects"].as_array().unwrap();
    let by = |name: &str| projects.iter().find(|p| p["project"] == name).unwrap();
    let local = by("cli-far-local");
    assert_eq!(local["guard"]["action"], "refuse");
    let reason = local["guard"]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("cache bucket {FAR_BUCKET} is in {FAR} but the project is in {HOME}")),
        "{reason}"
    );
    let on_s3 = by("cli-far-s3");
    let attention = on_s3["attention"].as_array().unwrap();
    assert!(attention.iter().any(|a| a.as_str().unwrap().contains(&format!("is in {FAR}, not in {HOME}"))), "{on_s3}");
    assert_eq!(on_s3["evidence"]["status"], "not_read");

    let prune = run(&["--region", HOME, "--bucket", FAR_BUCKET, "prune", "--apply"]);
    assert_eq!(prune.code, 2, "{prune:?}");
    assert!(
        prune.stdout.contains(&format!("Nothing was pruned: the cache bucket {FAR_BUCKET} is in {FAR}")),
        "{}",
        prune.stdout
    );
    let left = far.s3.list_objects_v2().bucket(FAR_BUCKET).prefix("cli-far-s3/").send().await.unwrap();
    assert_eq!(left.key_count(), Some(1), "nothing deleted");
}
