//! Concurrent runs (issue 14): two invocations at once, as Lambda runs them when a schedule and an
//! event, or two deliveries, overlap. Each runs with its own clients (separate instances) through a
//! proxy that faults nothing and counts what reached the emulator.
//!
//! These need the claims that keep concurrent runs apart, which other branches are building: they
//! are ignored until those are merged (the ignore reason names the branch).

use super::fault_tolerance::{
    all_notices, by_index, create_cached_projects, create_projects, env, keys, notices_per_project, pruner,
    seed_pruner_bucket, sweep_event,
};
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
use cache_sentinel::testing::{self, Sandbox};
use serde_json::{Value, json};

fn deleted(report: &impl serde::Serialize) -> u64 {
    serde_json::to_value(report).unwrap()["deleted"].as_u64().unwrap_or(0)
}

/// A fault-free twin: the survivors of one pruner sweep alone, by project index.
async fn survivors_of_one_sweep(clients: &cache_sentinel::aws::Clients) -> std::collections::BTreeSet<String> {
    let bucket = testing::unique("alone");
    let projects = create_cached_projects(clients, &testing::unique("pa"), 4, &bucket).await;
    seed_pruner_bucket(clients, &bucket, &projects).await;
    pruner(&bucket, clients).handle(&sweep_event(), RunLimits::default()).await.expect("sweep alone");
    by_index(&keys(clients, &bucket).await, &projects)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pruner_sweeps_at_once_leave_the_survivors_of_one_and_count_each_deletion_once() {
    let direct = testing::emulator_clients().await;
    let expected = survivors_of_one_sweep(&direct).await;
    let bucket = testing::unique("twice");
    let projects = create_cached_projects(&direct, &testing::unique("pt"), 4, &bucket).await;
    seed_pruner_bucket(&direct, &bucket, &projects).await;
    let before = keys(&direct, &bucket).await.len() as u64;

    let proxy = FaultProxy::start(&FaultSettings::default());
    let (a, b) = (pruner(&bucket, &proxy.clients().await), pruner(&bucket, &proxy.clients().await));
    let event = sweep_event();
    let (ra, rb) = tokio::join!(a.handle(&event, RunLimits::default()), b.handle(&event, RunLimits::default()));
    let (ra, rb) = (ra.expect("first sweep"), rb.expect("second sweep"));

    let survivors = keys(&direct, &bucket).await;
    assert_eq!(by_index(&survivors, &projects), expected);
    let made = before - survivors.len() as u64;
    assert_eq!(deleted(&ra) + deleted(&rb), made, "each deletion counted once: {} + {}", deleted(&ra), deleted(&rb));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pruner_sweep_alongside_build_event_runs_leaves_the_same_survivors_and_counts_each_deletion_once() {
    let direct = testing::emulator_clients().await;
    let expected = survivors_of_one_sweep(&direct).await;
    let bucket = testing::unique("mixed");
    let projects = create_cached_projects(&direct, &testing::unique("pm"), 4, &bucket).await;
    seed_pruner_bucket(&direct, &bucket, &projects).await;
    let before = keys(&direct, &bucket).await.len() as u64;

    let proxy = FaultProxy::start(&FaultSettings::default());
    let sweeper = pruner(&bucket, &proxy.clients().await);
    let builder = pruner(&bucket, &proxy.clients().await);
    let events: Vec<Value> = projects.iter().map(|p| succeeded_event(p)).collect();
    let sweep_event = sweep_event();
    let sweep = sweeper.handle(&sweep_event, RunLimits::default());
    let builds = futures::future::join_all(events.iter().map(|e| builder.handle(e, RunLimits::default())));
    let (sweep, builds) = tokio::join!(sweep, builds);

    let mut counted = deleted(&sweep.expect("sweep"));
    for report in builds {
        counted += deleted(&report.expect("build-event run"));
    }
    let survivors = keys(&direct, &bucket).await;
    assert_eq!(by_index(&survivors, &projects), expected);
    assert_eq!(counted, before - survivors.len() as u64, "each deletion counted once");
}

fn succeeded_event(project: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["id"] = json!(testing::unique("evt"));
    event["region"] = json!(testing::region());
    event["detail"]["project-name"] = json!(project);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_guard_sweeps_at_once_make_one_update_project_and_one_notice_per_project() {
    let s = Sandbox::new().await;
    let prefix = testing::unique("gt");
    let projects = create_projects(&s, &prefix, 30).await;
    let proxy = FaultProxy::start(&FaultSettings::default());
    let include = format!("{prefix}-*");
    let vars =
        env(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn), ("PROJECT_INCLUDE", &include)]);
    let a = CacheGuard::new(GuardConfig::from_env(&vars).unwrap(), &proxy.clients().await);
    let b = CacheGuard::new(GuardConfig::from_env(&vars).unwrap(), &proxy.clients().await);

    let event = sweep_event();
    let (ra, rb) = tokio::join!(a.handle(&event), b.handle(&event));
    ra.expect("first sweep");
    rb.expect("second sweep");

    assert_eq!(proxy.forwarded("codebuild:UpdateProject"), 30, "{:?}", proxy.counts());
    let notices = all_notices(&s.topic).await;
    let per_project = notices_per_project(&notices, &projects);
    let wrong: Vec<_> = per_project.iter().filter(|(_, n)| **n != 1).collect();
    assert!(wrong.is_empty(), "projects not named in exactly one notice: {wrong:?}");
}
