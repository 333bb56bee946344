//! `cache-sentinel prune` in sa-east-1: the dry run's plan by reason and project (nothing
//! deleted), and `--apply` interrupted with Ctrl-C (SIGINT) after a step, then resumed to the
//! exact end state.

use crate::support::{self, assert_snapshot, command, run};
use cache_sentinel::aws::Clients;
use cache_sentinel::testing::{ProjectFixture, unique};
use futures::StreamExt;
use std::time::{Duration, Instant};

const REGION: &str = "sa-east-1";

/// Objects `prefix/000..n` of `size` bytes, `age_days` days old plus one second per index, so the
/// lowest indexes are the newest.
async fn objects(clients: &Clients, bucket: &str, prefix: &str, n: usize, size: usize, age_days: u64) {
    futures::stream::iter(0..n)
        .map(|i| {
            let request = clients
                .s3
                .put_object()
                .bucket(bucket)
                .key(format!("{prefix}/{i:05}"))
                .metadata("emulator-age-seconds", (age_days * 86_400 + i as u64).to_string())
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
async fn dry_run_plans_by_reason_and_project_and_deletes_nothing() {
    let clients = support::clients(REGION).await;
    let bucket = "cli-prune-plan";
    support::bucket(&clients, bucket).await;
    support::project(&clients, ProjectFixture::new("cli-prune-live"), &[]).await;
    let _ = clients.codebuild.delete_project().name("cli-prune-gone").send().await;
    objects(&clients, bucket, "cli-prune-live", 5, 1000, 40).await;
    objects(&clients, bucket, "cli-prune-gone", 2, 3000, 40).await;

    let out = run(&["--region", REGION, "--bucket", bucket, "prune"]);
    assert_eq!(out.code, 1, "something to prune: {out:?}");
    assert_snapshot("prune-dry-run", &out.stdout);
    let out = run(&["--region", REGION, "--bucket", bucket, "prune", "--json"]);
    let plan = out.json();
    assert_eq!(plan["planned"], 4);
    assert_eq!(plan["bytes_planned"], 2 * 1000 + 2 * 3000);
    assert_eq!(plan["by_reason"]["max_age"], 2, "the live project keeps its 3 newest");
    assert_eq!(plan["by_reason"]["orphaned"], 2);
    assert_eq!(plan["projects"]["cli-prune-gone"]["orphaned"], true);
    assert_eq!(plan["deleted"], 0);
    assert_eq!(keys(&clients, bucket).await.len(), 7, "a dry run deletes nothing");

    // Nothing old enough under a longer PRUNE_MAX_AGE_DAYS and grace: exit 0.
    let out = run(&[
        "--region",
        REGION,
        "--bucket",
        bucket,
        "--set",
        "PRUNE_MAX_AGE_DAYS=90",
        "--set",
        "PRUNE_ORPHAN_GRACE_DAYS=90",
        "prune",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
}

#[tokio::test]
async fn apply_interrupted_by_ctrl_c_resumes_to_the_exact_end_state() {
    let clients = support::clients(REGION).await;
    let bucket = unique("cli-prune-apply");
    support::bucket(&clients, &bucket).await;
    let projects = [unique("cli-prune-a"), unique("cli-prune-b")];
    for name in &projects {
        support::project(&clients, ProjectFixture::new(name), &[]).await;
        objects(&clients, &bucket, name, 1600, 10, 40).await;
    }
    let args = ["--region", REGION, "--bucket", &bucket, "prune", "--apply", "--pages-per-step", "1", "--json"];

    let child =
        command(&args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    // Interrupt once the first step has saved the resume state.
    let deadline = Instant::now() + Duration::from_secs(60);
    let state = || clients.s3.head_object().bucket(&bucket).key(".cache-sentinel/pruner/state.json").send();
    while state().await.is_err() {
        assert!(Instant::now() < deadline, "no resume state after 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let first: support::Run = child.wait_with_output().unwrap().into();
    assert_eq!(first.code, 130, "{first:?}");
    assert!(first.stderr.contains("Stopping after the current step"), "{first:?}");
    let first = first.json();
    assert_eq!(first["interrupted"], true);
    assert_eq!(first["finished"], false);
    let resume_after = first["resume_after"].as_str().expect("a resume point").to_owned();
    let deleted_first = first["deleted"].as_u64().unwrap();
    assert!(deleted_first > 0 && deleted_first < 3194, "{first}");

    let second = run(&args);
    assert_eq!(second.code, 0, "{second:?}");
    let second = second.json();
    assert_eq!(second["resumed_after"], resume_after.as_str());
    assert_eq!(second["finished"], true);
    assert_eq!(deleted_first + second["deleted"].as_u64().unwrap(), 2 * 1600 - 2 * 3, "every object deleted once");

    let mut left: Vec<String> =
        keys(&clients, &bucket).await.into_iter().filter(|k| !k.starts_with(".cache-sentinel/")).collect();
    left.sort();
    let mut expected: Vec<String> = projects.iter().flat_map(|p| (0..3).map(move |i| format!("{p}/{i:05}"))).collect();
    expected.sort();
    assert_eq!(left, expected, "exactly the 3 newest of each project are left");
}
