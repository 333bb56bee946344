//! cache-pruner against the emulator: sweeps over several pages, dry runs, interrupted sweeps that
//! resume per location, the deletion cap, build-triggered pruning, budgets, the summary notice.
//! The scope (shared buckets, nested and shared locations, orphans) is in `pruner_scope.rs`;
//! concurrent runs and odd keys in `pruner_runs.rs`.
//!
//! Objects are aged by injecting `now` (a FixedClock in the future), never by waiting. What should
//! remain is computed by a small oracle in this file from the emulator's own listing (LastModified),
//! not by the planner under test.

use cache_sentinel::aws::Clients;
use cache_sentinel::aws::s3_objects::{self, ListRequest};
use cache_sentinel::clock::FixedClock;
use cache_sentinel::pruner::deployment::Deployment;
use cache_sentinel::pruner::{CachePruner, PruneReport, PrunerConfig, Reason, RunLimits};
use cache_sentinel::testing::{self, ProjectFixture, TopicWithQueue};
use chrono::{Duration, Utc};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub fn config(vars: &[(&str, &str)]) -> PrunerConfig {
    let env: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    PrunerConfig::from_env(&env).expect("config")
}

pub fn pruner(clients: &Clients, vars: &[(&str, &str)], days_ahead: i64) -> CachePruner {
    CachePruner::new(config(vars), clients).with_clock(Arc::new(FixedClock(Utc::now() + Duration::days(days_ahead))))
}

pub fn sweep_event() -> Value {
    serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap()
}

pub fn build_event(project: &str, status: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["id"] = json!(testing::unique("evt"));
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-status"] = json!(status);
    event
}

/// A project whose S3 cache is `<bucket>/<prefix>` ("" = the bucket itself).
pub async fn project_at(clients: &Clients, name: &str, bucket: &str, prefix: &str) -> String {
    let location = if prefix.is_empty() { bucket.to_owned() } else { format!("{bucket}/{prefix}") };
    ProjectFixture::new(&testing::unique(name)).cache(testing::s3_cache(&location)).create(clients).await
}

/// Puts the keys (bodies of a few bytes) with 32 requests in flight.
pub async fn seed(clients: &Clients, bucket: &str, keys: Vec<String>) {
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

/// Puts objects of `size` bytes last modified `age` seconds ago (the emulator's backdating).
pub async fn put_aged(clients: &Clients, bucket: &str, objects: Vec<(String, u64)>, size: usize) {
    futures::stream::iter(objects)
        .map(|(key, age)| {
            let s3 = clients.s3.clone();
            let bucket = bucket.to_owned();
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(key)
                    .metadata("emulator-age-seconds", age.to_string())
                    .body(vec![b'x'; size].into())
                    .send()
                    .await
                    .expect("put object");
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
}

/// Every key in the bucket with its LastModified (ms), as S3 lists them (URL-encoded, so that any
/// key lists; cache-sentinel's own left out).
pub async fn listing(clients: &Clients, bucket: &str) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = ListRequest { continuation_token: token.as_deref(), ..ListRequest::default() };
        let page = s3_objects::list_page(&clients.s3, bucket, request).await.expect("list");
        assert!(page.undecodable.is_empty(), "{:?}", page.undecodable);
        for o in page.objects {
            if !o.key.starts_with(".cache-sentinel/") {
                out.push((o.key, o.last_modified_ms));
            }
        }
        token = page.next_token;
        if token.is_none() {
            return out;
        }
    }
}

pub fn keys(listing: &[(String, i64)]) -> BTreeSet<String> {
    listing.iter().map(|(k, _)| k.clone()).collect()
}

/// The oracle: keys under each `<prefix>/`, minus the `keep` newest of each (newest = latest
/// LastModified, ties by key), as S3's listing shows them.
pub fn all_but_newest(listing: &[(String, i64)], prefixes: &[&str], keep: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for prefix in prefixes {
        let prefix = format!("{prefix}/");
        let mut objects: Vec<_> = listing.iter().filter(|(k, _)| k.starts_with(&prefix)).collect();
        objects.sort_by(|a, b| (b.1, &b.0).cmp(&(a.1, &a.0)));
        out.extend(objects.iter().skip(keep).map(|(k, _)| k.clone()));
    }
    out
}

pub fn objects(prefix: &str, n: usize) -> Vec<String> {
    // Hex-like names as CodeBuild's S3 cache writes them, in an order unrelated to write order.
    (0..n).map(|i| format!("{prefix}{:08x}", (i as u32).wrapping_mul(2_654_435_761))).collect()
}

pub async fn setup() -> (Clients, String) {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("prune");
    testing::create_bucket(&clients, &bucket).await;
    (clients, bucket)
}

pub fn calls(report: &PruneReport, operation: &str) -> u64 {
    report.api_calls.get(operation).copied().unwrap_or(0)
}

pub fn location<'r>(
    report: &'r PruneReport,
    bucket: &str,
    prefix: &str,
) -> &'r cache_sentinel::pruner::report::LocationReport {
    let name = if prefix.is_empty() { bucket.to_owned() } else { format!("{bucket}/{prefix}") };
    report.locations.get(&name).unwrap_or_else(|| panic!("no location {name} in {:?}", report.locations.keys()))
}

#[tokio::test]
async fn sweep_over_several_pages_dry_run_then_real_run_leaves_exactly_the_newest_of_each_location() {
    let (clients, bucket) = setup().await;
    let topic = TopicWithQueue::create(&clients, &testing::unique("prune-topic")).await;
    let big = project_at(&clients, "big", &bucket, "cache/big").await;
    let mid = project_at(&clients, "mid", &bucket, "cache/mid").await;
    let small = project_at(&clients, "small", &bucket, "cache/small").await;
    let mut all = objects("cache/big/", 1500);
    all.extend(objects("cache/mid/", 700));
    all.extend(objects("cache/small/", 2));
    all.extend(["cache/loose.bin".to_owned(), "other/x/1".to_owned()]);
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    assert_eq!(before.len(), 2204);
    let expected_deleted = all_but_newest(&before, &["cache/big", "cache/mid", "cache/small"], 3);
    let expected_left: BTreeSet<String> = keys(&before).difference(&expected_deleted).cloned().collect();
    assert_eq!(expected_deleted.len(), 1497 + 697);

    let vars = [("CACHE_BUCKET", bucket.as_str()), ("NOTIFY_TOPIC_ARN", topic.topic_arn.as_str())];
    // Dry run, 60 days on: lists what would go, with reasons, deletes nothing, notifies nobody.
    let dry = pruner(&clients, &[vars[0], vars[1], ("DRY_RUN", "true")], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .expect("dry run");
    assert!(dry.finished && dry.dry_run, "{dry:?}");
    assert_eq!(dry.plan.scanned, 2202, "the three locations' objects");
    assert_eq!((dry.plan.planned, dry.outcome.deleted), (expected_deleted.len() as u64, 0));
    assert!(dry.deletions.iter().all(|d| expected_deleted.contains(&d.key)));
    let unmanaged = dry.unmanaged.as_ref().expect("unmanaged");
    assert_eq!((unmanaged.objects, unmanaged.complete), (2, true), "{unmanaged:?}");
    assert_eq!(keys(&listing(&clients, &bucket).await), keys(&before));
    assert!(topic.drain().await.is_empty());
    let _ = (&big, &mid, &small);

    // The real run, with the counters a caller (the command line) watches it by.
    let progress = std::sync::Arc::new(cache_sentinel::pruner::PruneProgress::default());
    let limits = RunLimits::default().with_progress(progress.clone());
    let real = pruner(&clients, &vars, 60).handle(&sweep_event(), limits).await.expect("run");
    assert!(real.finished && real.outcome.failed == 0, "{real:?}");
    assert_eq!(real.outcome.deleted, expected_deleted.len() as u64);
    let counted = progress.snapshot();
    assert_eq!(counted.listed, 2204, "every key listed once, managed or not");
    assert_eq!((counted.planned, counted.bytes_planned), (real.plan.planned, real.plan.bytes_planned));
    assert_eq!(
        (counted.deleted, counted.bytes_freed, counted.failed),
        (real.outcome.deleted, real.outcome.bytes_freed, 0)
    );
    assert_eq!(location(&real, &bucket, "cache/big").outcome.deleted, 1497);
    assert_eq!(keys(&listing(&clients, &bucket).await), expected_left);
    // Calls at the minimum: per location ceil(objects/1,000) list calls (1,500 + 700 + 2 objects:
    // 2 + 1 + 1), the unmanaged folder other/ once; the root and cache/ (which holds locations)
    // with the delimiter once each; ceil(deletions/1,000) deletes.
    assert_eq!(calls(&real, "s3:ListObjectsV2"), 4 + 1, "{:?}", real.api_calls);
    assert_eq!(calls(&real, "s3:ListObjectsV2(delimiter)"), 2);
    assert_eq!(calls(&real, "s3:DeleteObjects"), (expected_deleted.len() as u64).div_ceil(1000));
    // One record of what the run freed (in big and mid: one body), none in dry run.
    assert_eq!((calls(&dry, "s3:PutObject(freed)"), calls(&real, "s3:PutObject(freed)")), (0, 1));
    let notices = topic.drain().await;
    assert_eq!(notices.len(), 1, "one summary notice");
    assert!(
        notices[0].subject.as_deref().unwrap_or_default().starts_with("cache-pruner freed"),
        "{:?}",
        notices[0].subject
    );
    let message = &notices[0].message;
    assert!(message.contains(&format!("Deleted:  {} objects", expected_deleted.len())), "{message}");
    assert!(message.contains("Not cache (never deleted): 2 objects"), "{message}");

    // Idempotent: a second sweep finds nothing to do and says nothing.
    let again = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.expect("again");
    assert_eq!((again.plan.planned, again.outcome.deleted), (0, 0));
    assert!(topic.drain().await.is_empty());
}

#[tokio::test]
async fn nothing_younger_than_the_minimum_age_goes() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "young", &bucket, "young").await;
    seed(&clients, &bucket, objects("young/", 20)).await;
    let vars = [
        ("CACHE_BUCKET", bucket.as_str()),
        ("PRUNE_MAX_AGE_DAYS", "1"),
        ("PRUNE_MIN_AGE_HOURS", "24"),
        ("PRUNE_KEEP_NEWEST", "1"),
    ];
    let report = CachePruner::new(config(&vars), &clients)
        .with_clock(Arc::new(FixedClock(Utc::now() + Duration::hours(20))))
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    assert_eq!((report.plan.planned, report.outcome.deleted), (0, 0), "{report:?}");
    let report = pruner(&clients, &vars, 2).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert_eq!(report.outcome.deleted, 19);
}

#[tokio::test]
async fn an_interrupted_sweep_resumes_each_location_where_it_stopped_and_ends_as_one_run_would() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "resume-a", &bucket, "a").await;
    project_at(&clients, "resume-b", &bucket, "b").await;
    let mut all = objects("a/", 1300);
    all.extend(objects("b/", 2400));
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let expected_deleted = all_but_newest(&before, &["a", "b"], 2);
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_KEEP_NEWEST", "2")];

    // Two pages per run, the locations listed at once: each stops part-way, its N newest so far
    // carried in the state.
    let limits = RunLimits { max_pages: Some(2), ..RunLimits::default() };
    let mut reports = Vec::new();
    for _ in 0..8 {
        let report = pruner(&clients, &vars, 60).handle(&sweep_event(), limits.clone()).await.expect("run");
        let finished = report.finished;
        reports.push(report);
        if finished {
            break;
        }
    }
    assert!(reports.len() >= 3, "{} runs", reports.len());
    assert!(reports[0].stopped.as_deref() == Some("page limit reached"), "{:?}", reports[0]);
    assert!(reports.iter().skip(1).all(|r| r.resumed.is_some()));
    assert_eq!(reports.iter().map(|r| r.plan.scanned).sum::<u64>(), 3700, "every object listed once");
    assert_eq!(reports.iter().map(|r| r.outcome.deleted).sum::<u64>(), expected_deleted.len() as u64);
    let left = keys(&listing(&clients, &bucket).await);
    let expected_left: BTreeSet<String> = keys(&before).difference(&expected_deleted).cloned().collect();
    assert_eq!(left, expected_left, "exactly the 2 newest of each location, across the resume boundaries");
    // The state says the sweep is complete: the next run starts from the beginning.
    let next = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(next.resumed.is_none() && next.finished);
    assert_eq!((next.plan.scanned, next.outcome.deleted), (4, 0));
    let key = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region()).state_key();
    let state = clients.s3.get_object().bucket(&bucket).key(key).send().await.expect("state");
    let state: Value = serde_json::from_slice(&state.body.collect().await.unwrap().into_bytes()).unwrap();
    assert!(state["sweep"].is_null() && state["locations"]["a"]["managed"] == json!(true), "{state}");
}

#[tokio::test]
async fn the_cap_bounds_each_run_and_the_sweep_continues() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "capped", &bucket, "capped").await;
    seed(&clients, &bucket, objects("capped/", 60)).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_MAX_DELETES_PER_RUN", "25"), ("PRUNE_KEEP_NEWEST", "3")];
    let first = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert_eq!(first.outcome.deleted, 25);
    assert!(first.plan.capped && !first.finished, "{first:?}");
    let mut runs = 1;
    loop {
        let report = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
        runs += 1;
        assert!(report.outcome.deleted <= 25);
        if report.finished || runs > 6 {
            break;
        }
    }
    // One more sweep from the start (the object that met each cap is decided then): 3 newest left.
    let last = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(last.finished);
    assert_eq!(listing(&clients, &bucket).await.len(), 3);
}

#[tokio::test]
async fn a_succeeded_build_prunes_its_own_location_only_other_statuses_are_ignored() {
    let (clients, bucket) = setup().await;
    let a = project_at(&clients, "built", &bucket, "built").await;
    project_at(&clients, "other", &bucket, "other").await;
    let mut all = objects("built/", 30);
    all.extend(objects("other/", 30));
    all.push("releases/app.zip".into());
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_KEEP_NEWEST", "1")];

    let ignored = pruner(&clients, &vars, 60).handle(&build_event(&a, "FAILED"), RunLimits::default()).await.unwrap();
    assert!(ignored.ignored.is_some() && ignored.api_calls.is_empty(), "{ignored:?}");

    let report = pruner(&clients, &vars, 60).handle(&build_event(&a, "SUCCEEDED"), RunLimits::default()).await.unwrap();
    assert_eq!(report.outcome.deleted, 29, "{report:?}");
    assert_eq!(report.locations.keys().collect::<Vec<_>>(), vec![&format!("{bucket}/built")]);
    assert!(report.unmanaged.is_none(), "a build run does not count the rest of the bucket");
    let expected: BTreeSet<String> =
        keys(&before).difference(&all_but_newest(&before, &["built"], 1)).cloned().collect();
    assert_eq!(keys(&listing(&clients, &bucket).await), expected);
    // No state object for build-triggered runs.
    let deployment = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region());
    assert!(clients.s3.head_object().bucket(&bucket).key(deployment.state_key()).send().await.is_err());
    // What it freed is recorded for the digest: one record, its figures in its key.
    let request = ListRequest { prefix: &cache_sentinel::pruner::freed::prefix(&deployment), ..ListRequest::default() };
    let records = s3_objects::list_page(&clients.s3, &bucket, request).await.expect("list records").objects;
    let freed: Vec<_> =
        records.iter().filter_map(|o| cache_sentinel::pruner::freed::parse(&deployment, &o.key)).collect();
    let [cache_sentinel::pruner::freed::Listed::One(one)] = freed.as_slice() else { panic!("{records:?}") };
    assert_eq!(
        (one.objects, one.bytes, one.location.clone()),
        (29, report.outcome.bytes_freed, format!("{bucket}/built"))
    );
    assert_eq!(calls(&report, "s3:PutObject(freed)"), 1, "{:?}", report.api_calls);
    // A project on LOCAL cache has nothing to prune in the bucket.
    let local = ProjectFixture::new(&testing::unique("local")).create(&clients).await;
    let report =
        pruner(&clients, &vars, 60).handle(&build_event(&local, "SUCCEEDED"), RunLimits::default()).await.unwrap();
    assert!(report.ignored.as_deref().is_some_and(|w| w.contains("no S3 cache location")), "{report:?}");
}

#[tokio::test]
async fn a_shared_location_is_one_group_and_budgets_delete_oldest_first() {
    let (clients, bucket) = setup().await;
    // Two projects on the bare bucket, as in the seed write-up: one location at the root.
    project_at(&clients, "x", &bucket, "").await;
    project_at(&clients, "y", &bucket, "").await;
    let all: Vec<String> = (0..20).map(|i| format!("{:08x}", (i as u32).wrapping_mul(2_654_435_761))).collect();
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let sizes: BTreeMap<String, i64> = {
        let out = clients.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
        out.contents().iter().map(|o| (o.key().unwrap().to_owned(), o.size().unwrap())).collect()
    };
    let total: i64 = sizes.values().sum();
    let budget = (total / 2).to_string();
    // Younger than the maximum age, so only the budget deletes; oldest first; the 2 newest stay.
    let vars = [
        ("CACHE_BUCKET", bucket.as_str()),
        ("CACHE_PREFIX_PER_PROJECT", "false"),
        ("PRUNE_KEEP_NEWEST", "2"),
        ("PRUNE_TOTAL_BUDGET", budget.as_str()),
    ];
    let report = pruner(&clients, &vars, 2).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    let root = location(&report, &bucket, "");
    assert_eq!(root.projects.len(), 2, "{root:?}");
    assert!(report.outcome.deleted > 0);
    assert_eq!(report.plan.by_reason.get(&Reason::TotalBudget), Some(&report.outcome.deleted));
    let after = listing(&clients, &bucket).await;
    let left_bytes: i64 = after.iter().map(|(k, _)| sizes[k]).sum();
    assert!(left_bytes <= total / 2, "{left_bytes} > {budget}");
    assert_eq!(report.total_bytes_after, Some(left_bytes as u64));
    // Oldest first: every deleted object is no newer than every object left.
    let deleted: Vec<_> = before.iter().filter(|(k, _)| !after.iter().any(|(a, _)| a == k)).collect();
    let oldest_left = after.iter().map(|(k, t)| (*t, k.clone())).min().unwrap();
    assert!(deleted.iter().all(|(k, t)| (*t, k.clone()) < oldest_left));
    // Just under budget: putting back the newest deleted object would exceed it.
    let newest_deleted = deleted.iter().max_by_key(|(k, t)| (*t, k.clone())).unwrap();
    assert!(left_bytes + sizes[&newest_deleted.0] > total / 2);
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
    project_at(&clients, "versioned", &bucket, "v").await;
    seed(&clients, &bucket, objects("v/", 5)).await;
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str())], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    assert_eq!(report.versioning.as_deref(), Some("Enabled"), "{report:?}");
    assert!(report.notes.iter().any(|n| n.contains("NoncurrentVersionExpiration")), "{:?}", report.notes);
    assert_eq!(report.outcome.deleted, 2);
}
