//! `cache-sentinel prune` in sa-east-1: the dry run's plan by reason and cache location, with what
//! the pruner leaves alone (nothing deleted); `--apply` interrupted with Ctrl-C (a real SIGINT)
//! part-way, then resumed to the exact end state; and `--apply` while another run holds the lease.

use crate::support::{self, assert_snapshot, command, run};
use cache_sentinel::aws::Clients;
use cache_sentinel::testing::{ProjectFixture, s3_cache, unique};
use futures::StreamExt;
use std::time::{Duration, Instant};

const REGION: &str = "sa-east-1";

/// Objects `prefix/000..n` of `size` bytes, `age_days` days old plus ten seconds per index, so the
/// lowest indexes are the newest: S3's LastModified has one-second resolution and puts made in
/// different seconds would tie (or swap) at one second apart.
async fn objects(clients: &Clients, bucket: &str, prefix: &str, n: usize, size: usize, age_days: u64) {
    futures::stream::iter(0..n)
        .map(|i| {
            let request = clients
                .s3
                .put_object()
                .bucket(bucket)
                .key(format!("{prefix}/{i:05}"))
                .metadata("emulator-age-seconds", (age_days * 86_400 + i as u64 * 10).to_string())
                .body(vec![b'x'; size].into());
            async move { request.send().await.expect("put") }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
}

async fn keys(clients: &Clients, bucket: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut pages = clients.s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        keys.extend(page.expect("list").contents().iter().filter_map(|o| o.key().map(str::to_owned)));
    }
    keys
}

#[tokio::test]
async fn dry_run_plans_by_reason_and_location_and_deletes_nothing() {
    let clients = support::clients(REGION).await;
    let bucket = "cli-prune-plan";
    support::bucket(&clients, bucket).await;
    let live = ProjectFixture::new("cli-prune-live").cache(s3_cache(&format!("{bucket}/cli-prune-live")));
    support::project(&clients, live, &[]).await;
    let team = ProjectFixture::new("cli-prune-team").cache(s3_cache(&format!("{bucket}/team-cache/cli-prune-team")));
    support::project(&clients, team, &[]).await;
    objects(&clients, bucket, "cli-prune-live", 5, 1000, 40).await;
    objects(&clients, bucket, "team-cache/cli-prune-team", 4, 3000, 40).await;
    // Not cache: no project's location. Never deleted, however old; reported.
    objects(&clients, bucket, "releases", 3, 2048, 90).await;
    objects(&clients, bucket, "cli-prune-gone", 2, 500, 90).await;

    let args = ["--region", REGION, "--bucket", bucket, "prune"];
    let out = run(&args);
    assert_eq!(out.code, 1, "something to prune: {out:?}");
    assert_snapshot("prune-dry-run", &out.stdout);
    let out = run(&[&args[..], &["--json"]].concat());
    assert_eq!(out.code, 1, "{out:?}");
    let plan = out.json();
    assert_eq!(plan["dry_run"], true);
    assert_eq!(plan["interrupted"], false);
    assert_eq!(plan["finished"], true);
    assert_eq!(plan["scanned"], 9, "the two locations' objects");
    assert_eq!(plan["planned"], 3, "each location keeps its 3 newest");
    assert_eq!(plan["bytes_planned"], 2 * 1000 + 3000);
    assert_eq!(plan["by_reason"]["max_age"], 3);
    assert_eq!(plan["bytes_by_reason"]["max_age"], 5000);
    let team = &plan["locations"][format!("{bucket}/team-cache/cli-prune-team")];
    assert_eq!((team["planned"].as_u64(), team["projects"][0].as_str()), (Some(1), Some("cli-prune-team")));
    assert_eq!(plan["unmanaged"]["objects"], 5, "releases/ and cli-prune-gone/: not cache");
    assert_eq!(plan["unmanaged"]["bytes"], 3 * 2048 + 2 * 500);
    assert_eq!(plan["deleted"], 0);
    assert_eq!(keys(&clients, bucket).await.len(), 14, "a dry run deletes nothing");

    // Nothing old enough under a longer PRUNE_MAX_AGE_DAYS: exit 0.
    let older = ["--region", REGION, "--bucket", bucket, "--set", "PRUNE_MAX_AGE_DAYS=90"];
    let out = run(&[&older[..], &["prune"]].concat());
    assert_eq!(out.code, 0, "{out:?}");

    // A size budget in the same one run: 4000 bytes per location. The live location (5,000 bytes)
    // loses its oldest; the team location (12,000) can lose only the one object beyond its 3 newest.
    let out = run(&[&older[..], &["--set", "PRUNE_PROJECT_BUDGET=4000", "prune", "--json"]].concat());
    assert_eq!(out.code, 1, "{out:?}");
    let plan = out.json();
    assert_eq!(plan["by_reason"]["project_budget"], 2, "{plan}");
    assert_eq!(plan["bytes_by_reason"]["project_budget"], 1000 + 3000);
    let team = &plan["locations"][format!("{bucket}/team-cache/cli-prune-team")];
    assert_eq!(team["over_budget"], true, "only its 3 newest are left, 9,000 bytes");
    assert!(team.get("budget_not_applied").is_none(), "listed whole in one run: {team}");
}

/// The seeded objects of `projects`: `prefix/00000` to `prefix/{n-1}`.
fn seeded(projects: &[String], n: usize) -> Vec<String> {
    projects.iter().flat_map(|p| (0..n).map(move |i| format!("{p}/{i:05}"))).collect()
}

#[tokio::test]
async fn apply_interrupted_by_ctrl_c_resumes_to_the_exact_end_state() {
    let clients = support::clients(REGION).await;
    let bucket = unique("cli-prune-apply");
    support::bucket(&clients, &bucket).await;
    // Locations listed one at a time and one deletion batch at a time, so that the listing is still
    // going on (held back by the deletions) when the first batch is done.
    let projects: Vec<String> = (0..LOCATIONS).map(|i| unique(&format!("cli-prune-{i}"))).collect();
    for name in &projects {
        let fixture = ProjectFixture::new(name).cache(s3_cache(&format!("{bucket}/{name}")));
        support::project(&clients, fixture, &[]).await;
        objects(&clients, &bucket, name, PER_LOCATION, 10, 40).await;
    }
    let args = [
        "--region",
        REGION,
        "--bucket",
        &bucket,
        "--set",
        "PRUNE_LIST_CONCURRENCY=1",
        "--set",
        "PRUNE_DELETE_CONCURRENCY=1",
        "prune",
        "--apply",
        "--json",
    ];

    let child =
        command(&args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Interrupt once the first deletions are made: an object of the first location is gone.
    let deadline = Instant::now() + Duration::from_secs(120);
    let first_gone = format!("{}/00500", projects[0]);
    while clients.s3.head_object().bucket(&bucket).key(&first_gone).send().await.is_ok() {
        assert!(Instant::now() < deadline, "nothing deleted after 120 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let first: support::Run = child.wait_with_output().unwrap().into();
    assert_eq!(first.code, 130, "{first:?}");
    assert!(first.stderr.contains("Stopping at the next listing page"), "{first:?}");
    let first = first.json();
    assert_eq!(first["interrupted"], true);
    assert_eq!(first["finished"], false);
    assert_eq!(first["stopped"], "stop requested");
    let deleted_first = first["deleted"].as_u64().unwrap();
    let deletable = (LOCATIONS * (PER_LOCATION - 3)) as u64;
    assert!(deleted_first >= 1000 && deleted_first < deletable, "part-way: {deleted_first} of {deletable}");
    assert_eq!(deleted_first, first["planned"].as_u64().unwrap(), "every planned deletion was made before it stopped");
    let state = clients
        .s3
        .head_object()
        .bucket(&bucket)
        .key(format!(".cache-sentinel/pruner/{}/{REGION}/state.json", cache_sentinel::testing::ACCOUNT))
        .send()
        .await;
    assert!(state.is_ok(), "the resume state is saved");

    let second = run(&args);
    assert_eq!(second.code, 0, "{second:?}");
    let second = second.json();
    assert_eq!(second["resumed"]["runs"], 1, "continues the interrupted sweep: {second}");
    assert_eq!(second["finished"], true);
    assert_eq!(deleted_first + second["deleted"].as_u64().unwrap(), deletable, "every object deleted once");

    let mut left: Vec<String> =
        keys(&clients, &bucket).await.into_iter().filter(|k| !k.starts_with(".cache-sentinel/")).collect();
    left.sort();
    let mut expected: Vec<String> = seeded(&projects, PER_LOCATION)
        .into_iter()
        .filter(|k| k.ends_with("/00000") || k.ends_with("/00001") || k.ends_with("/00002"))
        .collect();
    expected.sort();
    assert_eq!(left, expected, "exactly the 3 newest of each location are left");
}

const LOCATIONS: usize = 8;
const PER_LOCATION: usize = 1100;

#[tokio::test]
async fn apply_while_another_run_holds_the_lease_prunes_nothing_and_says_so() {
    let clients = support::clients(REGION).await;
    let bucket = unique("cli-prune-leased");
    support::bucket(&clients, &bucket).await;
    let name = unique("cli-prune-leased");
    support::project(&clients, ProjectFixture::new(&name).cache(s3_cache(&format!("{bucket}/{name}"))), &[]).await;
    objects(&clients, &bucket, &name, 5, 10, 40).await;
    // A scheduled sweep's lease, as the Lambda writes it, until an hour from now.
    let now = chrono::Utc::now();
    let lease = serde_json::json!({"holder": "sweep-event-1/7/0", "kind": "sweep", "acquired_at": now.to_rfc3339(),
        "expires_at": (now + chrono::Duration::hours(1)).to_rfc3339(), "released": false});
    clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key(format!(".cache-sentinel/pruner/{}/{REGION}/lease.json", cache_sentinel::testing::ACCOUNT))
        .body(lease.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();

    let out = run(&["--region", REGION, "--bucket", &bucket, "prune", "--apply"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("Nothing was pruned: skipped this sweep"), "{out:?}");
    assert!(out.stdout.contains("a sweep run (sweep-event-1/7/0) holds the pruner's lease"), "{out:?}");
    assert_eq!(keys(&clients, &bucket).await.len(), 6, "nothing deleted (5 objects and the lease)");
}

/// The pruner's state remembers when its last full sweep finished: `prune --apply` says it, and so
/// does `audit` (the state of this account and region, read from the cache bucket).
#[tokio::test]
async fn prune_and_audit_say_when_the_last_full_sweep_finished() {
    let clients = support::clients(REGION).await;
    let bucket = unique("cli-prune-swept");
    support::bucket(&clients, &bucket).await;
    let name = unique("cli-prune-swept");
    support::project(&clients, ProjectFixture::new(&name).cache(s3_cache(&format!("{bucket}/{name}"))), &[]).await;
    objects(&clients, &bucket, &name, 5, 10, 40).await;
    let before = run(&["--region", REGION, "--bucket", &bucket, "audit"]);
    assert!(before.stdout.contains("Pruner: the pruner has not run here (no state)"), "{before:?}");

    let out = run(&["--region", REGION, "--bucket", &bucket, "prune", "--apply"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("Last full sweep: finished "), "{out:?}");
    let json = run(&["--region", REGION, "--bucket", &bucket, "prune", "--json"]).json();
    let at = json["last_full_sweep"].as_str().expect("a dry run reports the last full sweep too").to_owned();
    let audit = run(&["--region", REGION, "--bucket", &bucket, "audit"]);
    assert!(
        audit.stdout.contains("Pruner: last full sweep finished ") && audit.stdout.contains("(0 h ago)"),
        "{audit:?}"
    );
    let audit = run(&["--region", REGION, "--bucket", &bucket, "audit", "--json"]).json();
    assert_eq!(audit["sweeps"]["status"], "finished", "{audit}");
    assert_eq!(audit["sweeps"]["at"].as_str(), Some(at.as_str()));
}

/// The hidden `--now` moves the minimum age, the orphans' grace and the lease's expiry: refused with
/// `--apply` before anything is read or written; a plan with it is fine.
#[tokio::test]
async fn now_is_refused_with_apply() {
    let clients = support::clients(REGION).await;
    let bucket = unique("cli-prune-now");
    support::bucket(&clients, &bucket).await;
    let now = ["--now", "2030-01-01T00:00:00Z"];
    let out = run(&[&["--region", REGION, "--bucket", &bucket], &now[..], &["prune", "--apply"]].concat());
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--now cannot be used with prune --apply"), "{out:?}");
    assert!(keys(&clients, &bucket).await.is_empty(), "no lease, no state: {:?}", keys(&clients, &bucket).await);
    let plan = run(&[&["--region", REGION, "--bucket", &bucket], &now[..], &["prune"]].concat());
    assert_ne!(plan.code, 2, "{plan:?}");
}
