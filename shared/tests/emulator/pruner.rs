//! cache-pruner against the emulator: sweeps over several pages, dry runs, orphans, minimum age,
//! interrupted sweeps that resume, the deletion cap, build-triggered pruning, the summary notice.
//!
//! Objects are aged by injecting `now` (a FixedClock in the future), never by waiting. What should
//! remain is computed by a small oracle in this file from the emulator's own listing (LastModified),
//! not by the planner under test.

use cache_sentinel::aws::Clients;
use cache_sentinel::clock::FixedClock;
use cache_sentinel::pruner::state::STATE_KEY;
use cache_sentinel::pruner::{CachePruner, PruneReport, PrunerConfig, Reason, RunLimits};
use cache_sentinel::testing::{self, ProjectFixture, TopicWithQueue};
use chrono::{Duration, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

fn config(vars: &[(&str, &str)]) -> PrunerConfig {
    let env: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    PrunerConfig::from_env(&env).expect("config")
}

fn pruner(clients: &Clients, vars: &[(&str, &str)], days_ahead: i64) -> CachePruner {
    CachePruner::new(config(vars), clients).with_clock(Arc::new(FixedClock(Utc::now() + Duration::days(days_ahead))))
}

fn sweep_event() -> Value {
    serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap()
}

fn build_event(project: &str, status: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["id"] = json!(testing::unique("evt"));
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-status"] = json!(status);
    event
}

/// Puts the keys (bodies of a few bytes) with 32 requests in flight.
async fn seed(clients: &Clients, bucket: &str, keys: Vec<String>) {
    futures::stream::iter(keys.into_iter().enumerate())
        .map(|(i, key)| {
            let s3 = clients.s3.clone();
            let bucket = bucket.to_owned();
            async move {
                let body = vec![b'x'; 1 + i % 7];
                s3.put_object().bucket(bucket).key(key).body(body.into()).send().await.expect("put object");
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// Every key in the bucket with its LastModified (ms), as S3 lists them.
async fn listing(clients: &Clients, bucket: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut pages = clients.s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for o in page.expect("list").contents() {
            out.push((o.key().unwrap().to_owned(), o.last_modified().unwrap().to_millis().unwrap()));
        }
    }
    out
}

fn keys(listing: &[(String, i64)]) -> BTreeSet<String> {
    listing.iter().map(|(k, _)| k.clone()).collect()
}

/// The oracle: keys under `<root><project>/` for the given projects, minus the `keep` newest of each
/// (newest = latest LastModified, ties by key), as S3's listing shows them.
fn all_but_newest(listing: &[(String, i64)], root: &str, projects: &[&str], keep: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for project in projects {
        let prefix = format!("{root}{project}/");
        let mut objects: Vec<_> = listing.iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
        objects.sort_by(|a, b| (b.1, &b.0).cmp(&(a.1, &a.0)));
        out.extend(objects.iter().skip(keep).map(|(k, _)| k.clone()));
    }
    out
}

fn under(listing: &[(String, i64)], prefix: &str) -> BTreeSet<String> {
    listing.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, _)| k.clone()).collect()
}

fn objects(prefix: &str, n: usize) -> Vec<String> {
    // Hex-like names as CodeBuild's S3 cache writes them, in an order unrelated to write order.
    (0..n).map(|i| format!("{prefix}{:08x}", (i as u32).wrapping_mul(2_654_435_761))).collect()
}

async fn setup() -> (Clients, String) {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("prune");
    testing::create_bucket(&clients, &bucket).await;
    (clients, bucket)
}

fn calls(report: &PruneReport, operation: &str) -> u64 {
    report.api_calls.get(operation).copied().unwrap_or(0)
}

#[tokio::test]
async fn sweep_over_several_pages_dry_run_then_real_run_leaves_exactly_the_newest_of_live_projects() {
    let (clients, bucket) = setup().await;
    let topic = TopicWithQueue::create(&clients, &testing::unique("prune-topic")).await;
    let big = ProjectFixture::new(&testing::unique("big")).create(&clients).await;
    let mid = ProjectFixture::new(&testing::unique("mid")).create(&clients).await;
    let small = ProjectFixture::new(&testing::unique("small")).create(&clients).await;
    let gone = testing::unique("gone");
    let mut all = objects(&format!("cache/{big}/"), 1500);
    all.extend(objects(&format!("cache/{mid}/"), 700));
    all.extend(objects(&format!("cache/{small}/"), 2));
    all.extend(objects(&format!("cache/{gone}/"), 300));
    all.extend(["cache/loose.bin".to_owned(), "other/x/1".to_owned(), ".cache-sentinel/keep.json".to_owned()]);
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    assert_eq!(before.len(), 2505);
    let in_root = before.iter().filter(|(k, _)| k.starts_with("cache/")).count() as u64;

    let mut expected_deleted = all_but_newest(&before, "cache/", &[&big, &mid, &small], 3);
    expected_deleted.extend(under(&before, &format!("cache/{gone}/")));
    let expected_left: BTreeSet<String> = keys(&before).difference(&expected_deleted).cloned().collect();
    assert_eq!(expected_deleted.len(), 1497 + 697 + 300);

    let vars = [
        ("CACHE_BUCKET", bucket.as_str()),
        ("CACHE_KEY_PREFIX", "cache"),
        ("NOTIFY_TOPIC_ARN", topic.topic_arn.as_str()),
    ];
    // Dry run, 60 days on: lists what would go, with reasons, deletes nothing, notifies nobody.
    let dry = pruner(&clients, &[vars[0], vars[1], vars[2], ("DRY_RUN", "true")], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .expect("dry run");
    assert!(dry.finished && dry.dry_run, "{dry:?}");
    assert_eq!(dry.plan.scanned, in_root - 1, "everything under the root except the loose file");
    assert_eq!(dry.plan.skipped.no_project, 1);
    assert_eq!((dry.plan.planned, dry.outcome.deleted), (expected_deleted.len() as u64, 0));
    assert_eq!(dry.plan.by_reason.get(&Reason::Orphaned), Some(&300));
    assert!(dry.deletions.iter().all(|d| expected_deleted.contains(&d.key)));
    assert_eq!(keys(&listing(&clients, &bucket).await), keys(&before));
    assert!(topic.drain().await.is_empty());

    // The real run.
    let real = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.expect("run");
    assert!(real.finished && real.outcome.failed == 0, "{real:?}");
    assert_eq!(real.outcome.deleted, expected_deleted.len() as u64);
    assert_eq!(real.outcomes[&gone].deleted, 300);
    assert!(real.plan.projects[&gone].orphaned);
    assert_eq!(real.outcomes[&big].deleted, 1497);
    assert_eq!(keys(&listing(&clients, &bucket).await), expected_left);
    // Calls at the minimum: one list call per 1,000 keys, one delete call per 1,000 deletions.
    assert_eq!(calls(&real, "s3:ListObjectsV2"), in_root.div_ceil(1000));
    assert_eq!(calls(&real, "s3:DeleteObjects"), (expected_deleted.len() as u64).div_ceil(1000));
    assert_eq!(calls(&real, "codebuild:BatchGetProjects"), 1);
    let notices = topic.drain().await;
    assert_eq!(notices.len(), 1, "one summary notice");
    assert!(
        notices[0].subject.as_deref().unwrap_or_default().starts_with("cache-pruner freed"),
        "{:?}",
        notices[0].subject
    );
    assert!(
        notices[0].message.contains(&format!("Deleted:  {} objects", expected_deleted.len())),
        "{}",
        notices[0].message
    );

    // Idempotent: a second sweep finds nothing to do and says nothing.
    let again = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.expect("again");
    assert_eq!((again.plan.planned, again.outcome.deleted), (0, 0));
    assert!(topic.drain().await.is_empty());
}

#[tokio::test]
async fn orphans_go_after_the_grace_period_and_nothing_younger_than_the_minimum_age() {
    let (clients, bucket) = setup().await;
    let live = ProjectFixture::new(&testing::unique("live")).create(&clients).await;
    let gone = testing::unique("gone");
    let mut all = objects(&format!("{live}/"), 20);
    all.extend(objects(&format!("{gone}/"), 20));
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_ORPHAN_GRACE_DAYS", "7")];

    // Within the grace period and the maximum age: nothing.
    let report = pruner(&clients, &vars, 5).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert_eq!(report.outcome.deleted, 0, "{report:?}");
    // Even with everything due, objects younger than the minimum age stay.
    let young = [vars[0], ("PRUNE_ORPHAN_GRACE_DAYS", "0"), ("PRUNE_MAX_AGE_DAYS", "1"), ("PRUNE_MIN_AGE_HOURS", "24")];
    let report = CachePruner::new(config(&young), &clients)
        .with_clock(Arc::new(FixedClock(Utc::now() + Duration::hours(20))))
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    assert_eq!(report.outcome.deleted, 0, "{report:?}");
    // Past the grace period: the orphan's objects go, the live project's stay (younger than 30 days).
    let report = pruner(&clients, &vars, 8).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert_eq!(report.outcome.deleted, 20);
    assert_eq!(report.plan.by_reason.get(&Reason::Orphaned), Some(&20));
    assert_eq!(keys(&listing(&clients, &bucket).await), under(&before, &format!("{live}/")));
}

#[tokio::test]
async fn an_interrupted_sweep_resumes_where_it_stopped_and_ends_as_one_run_would() {
    let (clients, bucket) = setup().await;
    let a = ProjectFixture::new(&testing::unique("resume-a")).create(&clients).await;
    let b = ProjectFixture::new(&testing::unique("resume-b")).create(&clients).await;
    let mut all = objects(&format!("{a}/"), 1300);
    all.extend(objects(&format!("{b}/"), 400));
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let expected_deleted = all_but_newest(&before, "", &[&a, &b], 2);
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_KEEP_NEWEST", "2")];

    // A deadline already passed still makes progress: one page, then stop; project a continues on
    // the next page, so its N newest so far are carried in the state.
    let deadline = RunLimits { deadline: Some(std::time::Instant::now()), max_pages: None };
    let first = pruner(&clients, &vars, 60).handle(&sweep_event(), deadline).await.unwrap();
    assert!(!first.finished && first.stopped.as_deref() == Some("deadline reached"), "{first:?}");
    assert!(first.resume_after.is_some() && first.resumed_after.is_none());
    assert_eq!((first.plan.scanned, calls(&first, "s3:ListObjectsV2")), (1000, 1));
    assert!(first.outcome.deleted > 0);

    // Then one page per run until the sweep finishes.
    let limits = RunLimits { deadline: None, max_pages: Some(1) };
    let mut reports = vec![first];
    for _ in 0..5 {
        let report = pruner(&clients, &vars, 60).handle(&sweep_event(), limits).await.expect("run");
        let finished = report.finished;
        reports.push(report);
        if finished {
            break;
        }
    }
    assert_eq!(reports.len(), 2, "1,700 objects, 1,000 per page, one page per run");
    assert_eq!(reports[1].resumed_after, reports[0].resume_after);
    assert_eq!(reports.iter().map(|r| r.plan.scanned).sum::<u64>(), 1700);
    assert_eq!(reports.iter().map(|r| r.outcome.deleted).sum::<u64>(), expected_deleted.len() as u64);
    let left = keys(&listing(&clients, &bucket).await);
    let mut expected_left: BTreeSet<String> = keys(&before).difference(&expected_deleted).cloned().collect();
    expected_left.insert(STATE_KEY.to_owned());
    assert_eq!(left, expected_left, "exactly the 2 newest of each project, across the resume boundary");
    // The state says the sweep is complete: the next run starts from the beginning.
    let next = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(next.resumed_after.is_none() && next.finished);
    assert_eq!((next.plan.scanned, next.outcome.deleted), (4, 0));
}

#[tokio::test]
async fn the_cap_bounds_each_run_and_the_sweep_continues() {
    let (clients, bucket) = setup().await;
    let p = ProjectFixture::new(&testing::unique("capped")).create(&clients).await;
    seed(&clients, &bucket, objects(&format!("{p}/"), 60)).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_MAX_DELETES_PER_RUN", "25"), ("PRUNE_KEEP_NEWEST", "3")];
    let first = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert_eq!(first.outcome.deleted, 25);
    assert!(first.plan.capped && !first.finished && first.resume_after.is_some(), "{first:?}");
    let mut runs = 1;
    loop {
        let report = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
        runs += 1;
        assert!(report.outcome.deleted <= 25);
        if report.finished || runs > 6 {
            break;
        }
    }
    // One more sweep from the start (the object that hit each cap is decided then): 3 newest left.
    let last = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(last.finished);
    let left: Vec<_> =
        listing(&clients, &bucket).await.into_iter().filter(|(k, _)| k.starts_with(&format!("{p}/"))).collect();
    assert_eq!(left.len(), 3, "{left:?}");
}

#[tokio::test]
async fn a_succeeded_build_prunes_its_own_prefix_only_other_statuses_are_ignored() {
    let (clients, bucket) = setup().await;
    let a = ProjectFixture::new(&testing::unique("built")).create(&clients).await;
    let b = ProjectFixture::new(&testing::unique("other")).create(&clients).await;
    let mut all = objects(&format!("{a}/"), 30);
    all.extend(objects(&format!("{b}/"), 30));
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_KEEP_NEWEST", "1")];

    let ignored = pruner(&clients, &vars, 60).handle(&build_event(&a, "FAILED"), RunLimits::default()).await.unwrap();
    assert!(ignored.ignored.is_some() && ignored.api_calls.is_empty(), "{ignored:?}");

    let report = pruner(&clients, &vars, 60).handle(&build_event(&a, "SUCCEEDED"), RunLimits::default()).await.unwrap();
    assert_eq!(report.outcome.deleted, 29, "{report:?}");
    assert_eq!(report.prefix, format!("{a}/"));
    let expected: BTreeSet<String> =
        keys(&before).difference(&all_but_newest(&before, "", &[&a], 1)).cloned().collect();
    assert_eq!(keys(&listing(&clients, &bucket).await), expected);
    // No state object for build-triggered runs.
    assert!(!keys(&listing(&clients, &bucket).await).contains(STATE_KEY));
}

#[tokio::test]
async fn a_shared_prefix_is_one_group_and_budgets_delete_oldest_first() {
    let (clients, bucket) = setup().await;
    let mut all = objects("x/", 10);
    all.extend(objects("y/", 10));
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let sizes: BTreeMap<String, i64> = {
        let mut m = BTreeMap::new();
        let mut pages = clients.s3.list_objects_v2().bucket(&bucket).into_paginator().send();
        while let Some(page) = pages.next().await {
            for o in page.unwrap().contents() {
                m.insert(o.key().unwrap().to_owned(), o.size().unwrap());
            }
        }
        m
    };
    let total: i64 = sizes.values().sum();
    let budget = total / 2;
    let budget_text = budget.to_string();
    // Younger than the maximum age, so only the budget deletes; oldest first; the 2 newest stay.
    let vars = [
        ("CACHE_BUCKET", bucket.as_str()),
        ("CACHE_PREFIX_PER_PROJECT", "false"),
        ("PRUNE_KEEP_NEWEST", "2"),
        ("PRUNE_TOTAL_BUDGET", budget_text.as_str()),
    ];
    let report = pruner(&clients, &vars, 2).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(report.plan.projects.contains_key("*"), "{report:?}");
    assert!(report.outcome.deleted > 0);
    assert_eq!(report.plan.by_reason.get(&Reason::TotalBudget), Some(&report.outcome.deleted));
    let after = listing(&clients, &bucket).await;
    let left_bytes: i64 = after.iter().map(|(k, _)| sizes[k]).sum();
    assert!(left_bytes <= budget, "{left_bytes} > {budget}");
    // Oldest first: every deleted object is no newer than every object left.
    let deleted: Vec<_> = before.iter().filter(|(k, _)| !after.iter().any(|(a, _)| a == k)).collect();
    let oldest_left = after.iter().map(|(k, t)| (*t, k.clone())).min().unwrap();
    assert!(deleted.iter().all(|(k, t)| (*t, k.clone()) < oldest_left));
    // Just under budget: putting back the newest deleted object would exceed it.
    let newest_deleted = deleted.iter().max_by_key(|(k, t)| (*t, k.clone())).unwrap();
    assert!(left_bytes + sizes[&newest_deleted.0] > budget);
    // A build event cannot prune a shared prefix per project.
    let ignored = pruner(&clients, &vars, 2)
        .handle(&build_event("some-project", "SUCCEEDED"), RunLimits::default())
        .await
        .unwrap();
    assert!(ignored.ignored.as_deref().unwrap_or_default().contains("CACHE_PREFIX_PER_PROJECT"));
}

#[tokio::test]
async fn a_versioned_bucket_is_reported_with_the_lifecycle_backstop() {
    let (clients, bucket) = setup().await;
    clients
        .s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let p = ProjectFixture::new(&testing::unique("versioned")).create(&clients).await;
    seed(&clients, &bucket, objects(&format!("{p}/"), 5)).await;
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str())], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    assert_eq!(report.versioning.as_deref(), Some("Enabled"), "{report:?}");
    assert!(report.notes.iter().any(|n| n.contains("NoncurrentVersionExpiration")), "{:?}", report.notes);
    assert_eq!(report.outcome.deleted, 2);
}
