//! `cache-sentinel audit` over a fixed set of projects in eu-west-3: the table people read, the
//! JSON CI reads, and the exit codes.

use crate::support::{self, assert_snapshot, run, with_cache};
use cache_sentinel::testing::{local_docker_cache, no_cache, s3_cache};
use serde_json::json;

const REGION: &str = "eu-west-3";
const BUCKET: &str = "cli-audit-cache";

async fn fixtures() {
    let clients = support::clients(REGION).await;
    support::bucket(&clients, BUCKET).await;
    let build = |start: &str, minutes: u64, source: &str, scenario: Option<&str>| {
        let mut spec = json!({"start": start, "status": "SUCCEEDED", "sourceVersion": source,
            "phases": [["QUEUED", 30], ["BUILD", minutes * 60 - 30]]});
        if let Some(s) = scenario {
            spec["exported"] = json!({"CACHE_SENTINEL_SCENARIO": s});
        }
        spec
    };
    let healthy = with_cache("cli-audit-healthy", s3_cache(&format!("{BUCKET}/cli-audit-healthy")));
    support::project(
        &clients,
        healthy,
        &[build("2026-11-20T09:00:00Z", 25, "a1", None), build("2026-11-20T11:00:00Z", 6, "a1", None)],
    )
    .await;
    // A service role that may use the cache: the guard checks it before it would heal.
    let role = cache_sentinel::testing::cache_role(&clients, BUCKET).await;
    let local = with_cache("cli-audit-local", local_docker_cache()).service_role(&role);
    support::project(&clients, local, &[build("2026-11-20T10:00:00Z", 31, "b1", Some("app"))]).await;
    let opted_out = with_cache("cli-audit-opted-out", no_cache()).tag("cache-sentinel:ignore", "true");
    support::project(&clients, opted_out, &[]).await;
    let custom = with_cache("cli-audit-custom", s3_cache("someone-elses-cache/x"));
    support::project(&clients, custom, &[]).await;
}

#[tokio::test]
async fn audit_shows_what_needs_attention_and_exits_1() {
    fixtures().await;
    let args = ["--region", REGION, "--bucket", BUCKET, "audit", "--project", "cli-audit-*"];
    let human = run(&args);
    assert_eq!(human.code, 1, "{human:?}");
    assert_snapshot("audit", &human.stdout);

    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = run(&json_args);
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.json();
    assert_eq!(report["needs_attention"], 1);
    assert_eq!(report["errors"], 0);
    assert_eq!(report["bucket"], BUCKET);
    let projects = report["projects"].as_array().unwrap();
    let names: Vec<&str> = projects.iter().map(|p| p["project"].as_str().unwrap()).collect();
    assert_eq!(names, ["cli-audit-custom", "cli-audit-healthy", "cli-audit-local", "cli-audit-opted-out"]);
    let by = |name: &str| projects.iter().find(|p| p["project"] == name).unwrap();
    assert_eq!(by("cli-audit-local")["guard"]["action"], "heal");
    assert_eq!(by("cli-audit-local")["guard"]["after"]["location"], "cli-audit-cache/cli-audit-local");
    assert_eq!(by("cli-audit-local")["last_build"]["over_expected"], true);
    assert_eq!(by("cli-audit-local")["attention"].as_array().unwrap().len(), 2);
    assert_eq!(by("cli-audit-healthy")["guard"]["action"], "no_change");
    assert_eq!(by("cli-audit-healthy")["last_build"]["scenario"], "no_change");
    assert_eq!(by("cli-audit-healthy")["last_build"]["duration_seconds"], 360);
    assert_eq!(by("cli-audit-opted-out")["guard"]["action"], "skip");
    assert_eq!(by("cli-audit-custom")["guard"]["action"], "no_change");
    assert!(by("cli-audit-custom").get("last_build").is_none());

    // Only healthy projects: nothing needs attention.
    let ok = run(&["--region", REGION, "--bucket", BUCKET, "audit", "--project", "cli-audit-healthy", "--json"]);
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.json()["needs_attention"], 0);

    // A missing bucket turns the heal into a refusal (the same fixtures: one test, no race).
    let out = run(&[
        "--region",
        REGION,
        "--bucket",
        "cli-audit-no-such-bucket",
        "audit",
        "--project",
        "cli-audit-local",
        "--json",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    let report = out.json();
    assert_eq!(report["bucket_status"]["status"], "missing");
    let line = &report["projects"][0];
    assert_eq!(line["guard"]["action"], "refuse");
    assert!(line["attention"][0].as_str().unwrap().contains("does not exist"), "{line}");
}
