//! Nothing lost, nothing doubled: the three services through the fault proxy with 20% of all
//! requests answered with AWS's throttling and server errors (the SDK retries them, 5 attempts per
//! call). A failed invocation is invoked again, as Lambda and EventBridge retry it, and its error
//! must name the operation that gave up. What was carried out is counted at the emulator (the
//! proxy's forwarded requests) and read back directly from it, not through the proxy.

use cache_sentinel::aws::Clients;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use cache_sentinel::pruner::{CachePruner, PrunerConfig, RunLimits};
use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
use cache_sentinel::testing::{self, ProjectFixture, Received, Sandbox, TopicWithQueue};
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

pub const FAULT_RATE: f64 = 0.2;
/// Lambda retries a failed asynchronous invocation twice, EventBridge a failed delivery up to 8
/// times: 4 tries in all is within what AWS would do.
pub const TRIES: usize = 4;

pub fn env(vars: &[(&str, &str)]) -> HashMap<String, String> {
    vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

pub fn sweep_event() -> Value {
    serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap()
}

/// Invokes until an invocation succeeds (at most `TRIES`), as AWS retries a failed one. Returns the
/// report and the errors of the failed tries.
pub async fn invoke_with_retries<T, E, F, Fut>(mut invoke: F) -> (Option<T>, Vec<String>)
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut errors = Vec::new();
    for _ in 0..TRIES {
        match invoke().await {
            Ok(report) => return (Some(report), errors),
            Err(e) => errors.push(e.to_string()),
        }
    }
    (None, errors)
}

/// Every give-up names the operation (`service:Operation`) that gave up.
pub fn assert_each_names_an_operation(errors: &[String]) {
    for error in errors {
        let named = ["codebuild:", "s3:", "sns:", "iam:", "logs:"].iter().any(|service| {
            error.match_indices(service).any(|(i, _)| error[i + service.len()..].starts_with(char::is_uppercase))
        });
        assert!(named, "a give-up without its operation: {error}");
    }
}

/// Every notice delivered so far (the sandbox's drain reads up to 30 per call).
pub async fn all_notices(topic: &TopicWithQueue) -> Vec<Received> {
    let mut all = Vec::new();
    loop {
        let batch = topic.drain().await;
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

/// How many notices name each project (in the subject or the body).
pub fn notices_per_project(notices: &[Received], projects: &[String]) -> BTreeMap<String, usize> {
    projects
        .iter()
        .map(|p| {
            let named = |text: &str| text.match_indices(p.as_str()).any(|(i, _)| !name_continues(text, i + p.len()));
            let n = notices.iter().filter(|m| named(m.subject.as_deref().unwrap_or("")) || named(&m.message)).count();
            (p.clone(), n)
        })
        .collect()
}

fn name_continues(text: &str, at: usize) -> bool {
    text[at..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `n` projects named `<prefix>-000`..., created directly in the emulator, 16 at a time.
/// `n` projects on LOCAL, whose builds run as a service role that may use the sandbox's bucket (the
/// guard checks that before it heals).
pub async fn create_projects(s: &Sandbox, prefix: &str, n: usize) -> Vec<String> {
    let (clients, role) = (&s.clients, testing::cache_role(&s.clients, &s.bucket).await);
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i:03}")).collect();
    futures::stream::iter(names.clone())
        .map(|name| ProjectFixture::new(&name).service_role(&role).create(clients))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    names
}

pub async fn caches(clients: &Clients, names: &[String]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for chunk in names.chunks(100) {
        let read = clients.codebuild.batch_get_projects().set_names(Some(chunk.to_vec())).send().await.unwrap();
        for p in read.projects() {
            let cache = p.cache().expect("cache");
            let text = format!("{}:{}", cache.r#type().as_str(), cache.location().unwrap_or_default());
            out.insert(p.name().unwrap_or_default().to_owned(), text);
        }
    }
    out
}

/// The share of requests the proxy faulted is near the configured rate (the run was really faulted).
fn assert_faulted_near_the_rate(proxy: &FaultProxy) {
    let counts = proxy.counts();
    let faulted: u64 = counts.values().map(|c| c.faulted).sum();
    let total: u64 = counts.values().map(|c| c.faulted + c.forwarded).sum();
    let share = faulted as f64 / total as f64;
    assert!((0.1..=0.3).contains(&share), "{faulted} of {total} requests faulted: {counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_heals_each_project_of_a_200_project_sweep_exactly_once_at_20_percent_faults() {
    let s = Sandbox::new().await;
    let prefix = testing::unique("fg");
    let projects = create_projects(&s, &prefix, 200).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(FAULT_RATE, 20));
    let clients = proxy.clients().await;
    let include = format!("{prefix}-*");
    let config = GuardConfig::from_env(&env(&[
        ("CACHE_BUCKET", &s.bucket),
        ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn),
        ("PROJECT_INCLUDE", &include),
    ]))
    .unwrap();
    let guard = CacheGuard::new(config, &clients);

    let sweep = sweep_event();
    let (report, errors) = invoke_with_retries(|| guard.handle(&sweep)).await;
    let report = report.unwrap_or_else(|| panic!("no sweep succeeded in {TRIES} tries: {errors:?}"));
    assert_each_names_an_operation(&errors);
    let mine = report.projects.iter().filter(|p| projects.contains(&p.project)).count();
    assert_eq!(mine, 200, "the last sweep saw every project");

    let healed = caches(&s.clients, &projects).await;
    for name in &projects {
        assert_eq!(healed[name], format!("S3:{}/{name}", s.bucket), "{name}");
    }
    assert_eq!(proxy.forwarded("codebuild:UpdateProject"), 200, "one UpdateProject per project: {:?}", proxy.counts());
    assert_faulted_near_the_rate(&proxy);
    let retries = clients.attempts.snapshot();
    assert!(retries.retries() > 0, "{retries:?}");

    // Each project is reported healed exactly once. The sweep sends one combined notice per run; a
    // run that gave up on a project lists it under "Could not be checked" and fails (so it is
    // retried), and the retried run that heals it lists it under "Healed".
    let notices = all_notices(&s.topic).await;
    assert!(notices.iter().all(|n| n.attributes.get("action").map(String::as_str) == Some("sweep")), "{notices:?}");
    let healed_sections: Vec<Received> = notices
        .iter()
        .map(|n| Received { message: healed_section(&n.message).to_owned(), subject: None, ..n.clone() })
        .collect();
    let per_project = notices_per_project(&healed_sections, &projects);
    let wrong: Vec<_> = per_project.iter().filter(|(_, n)| **n != 1).collect();
    assert!(wrong.is_empty(), "projects not reported healed exactly once: {wrong:?}");
    if errors.is_empty() {
        assert!(notices.iter().all(|n| !n.message.contains("== Could not be checked")), "failures without a give-up");
    }
}

/// The "Healed" section of a sweep notice ("" when it has none).
fn healed_section(message: &str) -> &str {
    let Some(start) = message.find("== Healed") else { return "" };
    let rest = &message[start..];
    let end = rest[1..].find("\n== ").map(|i| i + 1).or_else(|| rest.find("\nVerify a project")).unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_sends_exactly_one_email_per_slow_build_at_20_percent_faults() {
    let s = Sandbox::new().await;
    let prefix = testing::unique("fm");
    let projects = create_projects(&s, &prefix, 12).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(FAULT_RATE, 21));
    let clients = proxy.clients().await;
    let config =
        MonitorConfig::from_env(&env(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]))
            .unwrap();
    let monitor = BuildTimeMonitor::new(config, &clients);

    let mut errors = Vec::new();
    // Each slow build's event is delivered twice (EventBridge delivers at least once).
    for project in projects.iter().chain(projects.iter()) {
        let event = slow_build_event(project);
        let (report, failed) = invoke_with_retries(|| monitor.handle(&event)).await;
        assert!(report.is_some(), "{project}: no invocation succeeded: {failed:?}");
        errors.extend(failed);
    }
    assert_each_names_an_operation(&errors);

    let notices = all_notices(&s.topic).await;
    let per_project = notices_per_project(&notices, &projects);
    let wrong: Vec<_> = per_project.iter().filter(|(_, n)| **n != 1).collect();
    assert!(wrong.is_empty(), "slow builds not reported exactly once: {wrong:?}");
    assert_eq!(proxy.forwarded("sns:Publish"), 12, "{:?}", proxy.counts());
    assert_faulted_near_the_rate(&proxy);
}

/// events/build-succeeded.json (33 min 36 s: slow for every scenario) for one build of `project`;
/// the same project always gets the same build (a redelivery is the same event).
fn slow_build_event(project: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    let build_arn =
        format!("arn:aws:codebuild:{}:{}:build/{project}:0b6a3c5e-slow", testing::region(), testing::ACCOUNT);
    event["id"] = json!(format!("evt-{project}"));
    event["region"] = json!(testing::region());
    event["account"] = json!(testing::ACCOUNT);
    event["resources"] = json!([build_arn]);
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-id"] = json!(build_arn);
    event
}

/// A pruner's bucket: for each project 30 cache objects aged 2, 5, 8... hours (the emulator's
/// `emulator-age-seconds`), so that newest-first is the same in every bucket seeded this way, and
/// objects outside any cache location.
pub async fn seed_pruner_bucket(clients: &Clients, bucket: &str, projects: &[String]) {
    testing::create_bucket(clients, bucket).await;
    let mut objects: Vec<(String, u64)> = Vec::new();
    for project in projects {
        objects.extend(
            (0..30u64).map(|j| (format!("{project}/{:08x}", j.wrapping_mul(2_654_435_761)), (j * 3 + 2) * 3600)),
        );
    }
    objects.push(("releases/v1.zip".to_owned(), 90 * 86_400));
    super::pruner::put_aged(clients, bucket, objects, 64).await;
}

pub async fn keys(clients: &Clients, bucket: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut pages = clients.s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        out.extend(page.expect("list").contents().iter().filter_map(|o| o.key().map(str::to_owned)));
    }
    out.into_iter().filter(|k| !k.starts_with(".cache-sentinel/")).collect()
}

/// Projects on the S3 cache at `<bucket>/<project>`, as the guard leaves them.
pub async fn create_cached_projects(clients: &Clients, prefix: &str, n: usize, bucket: &str) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i:03}")).collect();
    for name in &names {
        ProjectFixture::new(name).cache(testing::s3_cache(&format!("{bucket}/{name}"))).create(clients).await;
    }
    names
}

pub fn pruner(bucket: &str, clients: &Clients) -> CachePruner {
    let config = PrunerConfig::from_env(&env(&[
        ("CACHE_BUCKET", bucket),
        ("PRUNE_KEEP_NEWEST", "3"),
        ("PRUNE_MAX_AGE_DAYS", "1"),
    ]))
    .unwrap();
    CachePruner::new(config, clients)
}

/// The keys with each project's name replaced by its index (`#0/...`), so that the survivors of two
/// buckets, each with its own projects, compare.
pub fn by_index(keys: &BTreeSet<String>, projects: &[String]) -> BTreeSet<String> {
    keys.iter()
        .map(|k| match projects.iter().position(|p| k.starts_with(&format!("{p}/"))) {
            Some(i) => format!("#{i}/{}", &k[projects[i].len() + 1..]),
            None => k.clone(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pruners_survivors_at_20_percent_faults_are_those_of_a_fault_free_run() {
    let direct = testing::emulator_clients().await;
    // Two buckets seeded alike, each with projects of its own whose caches live there.
    let (calm, faulted) = (testing::unique("calm"), testing::unique("faulted"));
    let calm_projects = create_cached_projects(&direct, &testing::unique("fpc"), 6, &calm).await;
    let faulted_projects = create_cached_projects(&direct, &testing::unique("fpf"), 6, &faulted).await;
    seed_pruner_bucket(&direct, &calm, &calm_projects).await;
    seed_pruner_bucket(&direct, &faulted, &faulted_projects).await;
    let before = keys(&direct, &faulted).await;

    let report = pruner(&calm, &direct).handle(&sweep_event(), RunLimits::default()).await.expect("fault-free run");
    let expected = keys(&direct, &calm).await;
    assert!(expected.len() < before.len() && expected.len() > 6 * 3, "the fault-free run pruned, and kept");
    let report = serde_json::to_value(&report).unwrap();
    assert_eq!(report["deleted"].as_u64(), Some((before.len() - expected.len()) as u64), "{report}");

    let proxy = FaultProxy::start(&FaultSettings::rate(FAULT_RATE, 22));
    let clients = proxy.clients().await;
    let faulted_pruner = pruner(&faulted, &clients);
    let sweep = sweep_event();
    let (report, errors) = invoke_with_retries(|| faulted_pruner.handle(&sweep, RunLimits::default())).await;
    let report = serde_json::to_value(report.unwrap_or_else(|| panic!("no run succeeded: {errors:?}"))).unwrap();
    assert_each_names_an_operation(&errors);

    let survivors = keys(&direct, &faulted).await;
    assert_eq!(
        by_index(&survivors, &faulted_projects),
        by_index(&expected, &calm_projects),
        "survivors differ from the fault-free run's"
    );
    let deleted = report["deleted"].as_u64().unwrap_or(0);
    assert!(deleted <= (before.len() - survivors.len()) as u64, "more deletions reported than made: {report}");
    if errors.is_empty() {
        assert_eq!(deleted, (before.len() - survivors.len()) as u64, "{report}");
    }
    assert_faulted_near_the_rate(&proxy);
}
