//! build-time-monitor against the emulator: what subscribers receive for a slow build, once per
//! build and kind; fast builds send nothing; scenarios from history and the cache; dry runs;
//! publish failures release the marker; sweeps; malformed events.
//!
//! moto's BatchGetBuilds marks every build SUCCEEDED with random phase durations and an end 1-5
//! minutes after its start, so the judged build's own figures always come from the event, and
//! history is used only where it is deterministic: how many successful builds exist and their
//! source versions (the baseline needs 5 samples, and no test creates that many).

use cache_sentinel::build::BuildFacts;
use cache_sentinel::clock::FixedClock;
use cache_sentinel::event::BuildStatus;
use cache_sentinel::monitor::scenario::Scenario;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use cache_sentinel::monitor::{MonitorError, Outcome};
use cache_sentinel::testing::{self, ProjectFixture};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

fn config(vars: &[(&str, &str)]) -> MonitorConfig {
    let env: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    MonitorConfig::from_env(&env).expect("config")
}

/// events/build-succeeded.json (33 min 36 s, PRE_BUILD 412 s, BUILD 1396 s, S3 cache) for a
/// project and build of this test.
fn slow_event(project: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    let build_arn = format!(
        "arn:aws:codebuild:{}:{}:build/{project}:{}",
        testing::region(),
        testing::ACCOUNT,
        testing::unique("b")
    );
    event["id"] = json!(testing::unique("evt"));
    event["region"] = json!(testing::region());
    event["account"] = json!(testing::ACCOUNT);
    event["resources"] = json!([build_arn]);
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-id"] = json!(build_arn);
    event
}

/// CodeBuild's event time format ("Nov 20, 2026 9:15:01 AM").
fn codebuild_time(t: DateTime<Utc>) -> String {
    t.format("%b %-d, %Y %-I:%M:%S %p").to_string()
}

/// The same event reshaped to a build of `minutes` minutes that started just now (after any
/// history the test created in the emulator, which stamps builds with the wall clock).
fn event_of_minutes(project: &str, minutes: i64) -> Value {
    let mut event = slow_event(project);
    let start = Utc::now() + chrono::Duration::seconds(5);
    let end = start + chrono::Duration::minutes(minutes);
    let (start, end) = (codebuild_time(start), codebuild_time(end));
    let info = &mut event["detail"]["additional-information"];
    info["build-start-time"] = json!(start);
    info["phases"] = json!([
        {"phase-context": [], "start-time": start, "end-time": start, "duration-in-seconds": 0, "phase-type": "SUBMITTED", "phase-status": "SUCCEEDED"},
        {"phase-context": [], "start-time": start, "end-time": end, "duration-in-seconds": minutes * 60, "phase-type": "BUILD", "phase-status": "SUCCEEDED"},
        {"start-time": end, "phase-type": "COMPLETED"}
    ]);
    event
}

/// The common sandbox, plus the monitor's own helpers.
struct Setup(testing::Sandbox);

impl std::ops::Deref for Setup {
    type Target = testing::Sandbox;
    fn deref(&self) -> &testing::Sandbox {
        &self.0
    }
}

async fn setup() -> Setup {
    Setup(testing::Sandbox::new().await)
}

impl Setup {
    fn monitor(&self, extra: &[(&str, &str)]) -> BuildTimeMonitor {
        let mut vars =
            vec![("CACHE_BUCKET", self.bucket.as_str()), ("NOTIFY_TOPIC_ARN", self.topic.topic_arn.as_str())];
        vars.extend_from_slice(extra);
        BuildTimeMonitor::new(config(&vars), &self.clients)
    }

    /// A successful build in the emulator's history with this source version.
    async fn past_build(&self, project: &str, source_version: &str) {
        let out = self
            .clients
            .codebuild
            .start_build()
            .project_name(project)
            .source_version(source_version)
            .send()
            .await
            .expect("start build");
        let id = out.build_value().and_then(|b| b.id()).expect("build id").to_owned();
        // moto completes a build when it is first read.
        self.clients.codebuild.batch_get_builds().ids(id).send().await.expect("batch get builds");
    }

    async fn put_cache_object(&self, project: &str) {
        self.clients
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(format!("{project}/0f3a9c1e-layer"))
            .body(b"cache".to_vec().into())
            .send()
            .await
            .expect("put cache object");
    }

    async fn marker_keys(&self) -> Vec<String> {
        let out = self
            .clients
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(".cache-sentinel/notified/")
            .send()
            .await
            .expect("list");
        // Per build and kind; the per-project repeat records (`repeat--...`) are counted apart.
        out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).filter(|k| !k.contains("/repeat--")).collect()
    }
}

#[tokio::test]
async fn slow_build_is_reported_once_with_what_subscribers_need() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let monitor = s.monitor(&[]);
    let event = slow_event(&project);

    let report = monitor.handle(&event).await.expect("monitor");
    assert_eq!(report.builds[0].outcome, Outcome::Notified, "{report:?}");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let n = &received[0];
    let subject = n.subject.as_deref().unwrap();
    assert_eq!(subject, format!("Slow build: {project} took 32 min 56 s (expected <= 28 min)"));
    assert!(subject.len() <= 99 && subject.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    let body = &n.message;
    for expected in [
        "finished SUCCEEDED after 33 min 36 s".to_owned(),
        "Expected:  20-28 min, over by 4 min 56 s".to_owned(),
        "Judged:    32 min 56 s, the build's own time".to_owned(),
        "Scenario:  a first build (first)".to_owned(),
        "no earlier successful build of this project".to_owned(),
        "no earlier successful first builds to compare with".to_owned(),
        "PRE_BUILD             6 min 52 s".to_owned(),
        "BUILD                23 min 16 s  <- longest phase".to_owned(),
        "S3 at codebuild-cache-123456789012-ap-south-1/tts-service-build".to_owned(),
        "BUILD_GENERAL1_LARGE".to_owned(),
        format!(
            "https://{r}.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/{project}/build/{project}%3A",
            r = testing::region()
        ),
        "--cache-from".to_owned(),
        "requirements.txt".to_owned(),
    ] {
        assert!(body.contains(&expected), "body lacks {expected:?}:\n{body}");
    }
    let attr = |k: &str| n.attributes.get(k).map(String::as_str);
    assert_eq!(attr("function"), Some("build-time-monitor"));
    assert_eq!(attr("project"), Some(project.as_str()));
    assert_eq!(attr("status"), Some("SUCCEEDED"));
    assert_eq!(attr("scenario"), Some("first"));
    assert_eq!(attr("severity"), Some("warning"));
    assert_eq!(attr("kind"), Some("finished-slow"));

    // EventBridge delivers the same event again: nothing more is sent.
    let again = monitor.handle(&event).await.expect("monitor");
    assert_eq!(again.builds[0].outcome, Outcome::AlreadyNotified, "{again:?}");
    // Another instance (cold start) knows it too: the marker is in S3.
    let other = s.monitor(&[]).handle(&event).await.expect("monitor");
    assert_eq!(other.builds[0].outcome, Outcome::AlreadyNotified);
    assert!(s.topic.drain().await.is_empty());
    assert_eq!(s.marker_keys().await.len(), 1);
}

#[tokio::test]
async fn running_overdue_and_finished_slow_are_one_notice_each() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let event = slow_event(&project);
    let build_id = event["detail"]["build-id"].as_str().unwrap().rsplit_once("build/").unwrap().1.to_owned();
    let start: DateTime<Utc> = "2026-11-20T09:15:01Z".parse().unwrap();
    // What the sweep reads from BatchGetBuilds for the running build, 30 minutes in.
    let mut running = BuildFacts::new(&project, BuildStatus::InProgress);
    running.build_id = Some(build_id.clone());
    running.start = Some(start);
    running.region = Some(testing::region());
    running.account = Some(testing::ACCOUNT.into());
    let monitor = s.monitor(&[]).with_clock(Arc::new(FixedClock(start + chrono::Duration::minutes(30))));

    let first = monitor.check_running(running.clone()).await.expect("check running");
    assert_eq!(first.outcome, Outcome::Notified, "{first:?}");
    assert_eq!(
        monitor.check_running(running).await.expect("again").outcome,
        Outcome::AlreadyNotified,
        "the next sweep is quiet"
    );
    let finished = monitor.handle(&event).await.expect("final event");
    assert_eq!(finished.builds[0].outcome, Outcome::Notified, "a different kind: sent");
    assert_eq!(monitor.handle(&event).await.expect("redelivery").builds[0].outcome, Outcome::AlreadyNotified);

    let received = s.topic.drain().await;
    let mut kinds: Vec<&str> = received.iter().filter_map(|r| r.attributes.get("kind").map(String::as_str)).collect();
    kinds.sort();
    assert_eq!(kinds, vec!["finished-slow", "running-overdue"], "{received:?}");
    let overdue =
        received.iter().find(|r| r.attributes.get("kind").map(String::as_str) == Some("running-overdue")).unwrap();
    assert_eq!(
        overdue.subject.as_deref(),
        Some(format!("Build overdue: {project} running 30 min 0 s (expected <= 28 min)").as_str())
    );
    assert!(overdue.message.contains("still running after 30 min 0 s"), "{}", overdue.message);
    assert_eq!(s.marker_keys().await.len(), 2);
}

#[tokio::test]
async fn builds_within_their_expected_time_send_nothing() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let monitor = s.monitor(&[]);
    // No history: a first build, 20-28 min expected; 10 minutes is fine.
    let report = monitor.handle(&event_of_minutes(&project, 10)).await.expect("monitor");
    let b = &report.builds[0];
    assert_eq!(b.outcome, Outcome::WithinTime, "{report:?}");
    let verdict = b.verdict.as_ref().unwrap();
    assert_eq!((verdict.duration_seconds, verdict.slow), (600, false));
    assert!(b.reason.contains("10 min 0 s") && b.reason.ends_with(": ok"), "{}", b.reason);
    assert!(s.topic.drain().await.is_empty());
    assert!(s.marker_keys().await.is_empty(), "no marker for builds that send nothing");
}

#[tokio::test]
async fn same_source_with_a_filled_cache_is_no_change_and_an_empty_cache_is_a_first_build() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let mut event = event_of_minutes(&project, 10);
    // The build used the managed S3 cache location.
    event["detail"]["additional-information"]["cache"]["location"] = json!(format!("{}/{project}", s.bucket));
    let source = event["detail"]["additional-information"]["source-version"].as_str().unwrap().to_owned();
    s.past_build(&project, &source).await;
    let monitor = s.monitor(&[]);

    // The cache prefix is empty: a first build (20-28 min), 10 minutes is within.
    let report = monitor.handle(&event).await.expect("monitor");
    let v = report.builds[0].verdict.as_ref().unwrap();
    assert_eq!(v.scenario.scenario, Scenario::First, "{v:?}");
    assert!(v.scenario.reason.contains(&format!("s3://{}/{project}/ is empty", s.bucket)), "{}", v.scenario.reason);
    assert_eq!(report.builds[0].outcome, Outcome::WithinTime);

    // With something cached, the same source version as the last success: no change (5-8 min).
    s.put_cache_object(&project).await;
    let report = monitor.handle(&event).await.expect("monitor");
    let v = report.builds[0].verdict.as_ref().unwrap();
    assert_eq!(v.scenario.scenario, Scenario::NoChange, "{v:?}");
    assert_eq!(report.builds[0].outcome, Outcome::Notified);
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].attributes.get("scenario").map(String::as_str), Some("no_change"));
    assert!(received[0].message.contains("same source version"), "{}", received[0].message);
    // The one earlier success was the project's first build: no earlier no-change build.
    assert!(received[0].message.contains("no earlier successful no-change builds"), "{}", received[0].message);

    // A different source version: a change of unknown kind, judged against 8-12 min.
    let mut changed = event.clone();
    changed["detail"]["additional-information"]["source-version"] = json!("refs/heads/feature");
    let report = monitor.handle(&changed).await.expect("monitor");
    let v = report.builds[0].verdict.as_ref().unwrap();
    assert_eq!(v.scenario.scenario, Scenario::UnknownChange);
    assert_eq!(report.builds[0].outcome, Outcome::WithinTime, "10 min is within 8-12");
}

#[tokio::test]
async fn per_project_expected_times_apply() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let monitor = s.monitor(&[("MONITOR_EXPECTED_TIMES", r#"{"tts-*": {"first": "5-9"}}"#)]);
    let report = monitor.handle(&event_of_minutes(&project, 10)).await.expect("monitor");
    let v = report.builds[0].verdict.as_ref().unwrap();
    assert_eq!((v.expected_from.as_str(), v.expected.high_minutes), ("tts-*", 9.0));
    assert_eq!(report.builds[0].outcome, Outcome::Notified);
    assert_eq!(s.topic.drain().await.len(), 1);
}

#[tokio::test]
async fn dry_run_judges_but_sends_and_writes_nothing() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let event = slow_event(&project);
    let report = s.monitor(&[("DRY_RUN", "true")]).handle(&event).await.expect("monitor");
    assert!(report.dry_run);
    assert_eq!(report.builds[0].outcome, Outcome::WouldNotify);
    assert!(report.builds[0].subject.as_deref().unwrap().starts_with("Slow build:"));
    assert!(s.topic.drain().await.is_empty());
    assert!(s.marker_keys().await.is_empty());
    // The dry run claimed nothing: a real run still sends.
    assert_eq!(s.monitor(&[]).handle(&event).await.expect("monitor").builds[0].outcome, Outcome::Notified);
    assert_eq!(s.topic.drain().await.len(), 1);
}

#[tokio::test]
async fn a_failed_publish_releases_the_marker_so_a_retry_sends() {
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let event = slow_event(&project);
    let missing_topic =
        format!("arn:aws:sns:{}:{}:{}", testing::region(), testing::ACCOUNT, testing::unique("no-such-topic"));
    let broken = s.monitor(&[("NOTIFY_TOPIC_ARN", missing_topic.as_str())]);
    let err = broken.handle(&event).await.expect_err("publishing to a missing topic fails");
    assert!(matches!(err, MonitorError::Publish { .. }), "{err}");
    assert!(err.to_string().contains("sns:Publish"), "{err}");
    assert!(s.marker_keys().await.is_empty(), "marker released");
    assert_eq!(s.monitor(&[]).handle(&event).await.expect("retry").builds[0].outcome, Outcome::Notified);
    assert_eq!(s.topic.drain().await.len(), 1);
}

#[tokio::test]
async fn in_progress_and_out_of_scope_are_reported_not_errors() {
    let s = setup().await;
    let monitor = s.monitor(&[("PROJECT_EXCLUDE", "*-sandbox")]);
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-in-progress.json")).unwrap();
    let report = monitor.handle(&event).await.expect("IN_PROGRESS is not an error");
    assert_eq!(report.builds[0].outcome, Outcome::Ignored);
    assert!(report.builds[0].reason.contains("IN_PROGRESS"), "{}", report.builds[0].reason);
    event = slow_event("tts-sandbox");
    let report = monitor.handle(&event).await.expect("out of scope is not an error");
    assert_eq!(report.builds[0].outcome, Outcome::OutOfScope);
    assert!(s.topic.drain().await.is_empty());
}

/// The sweep end to end on the emulator: ListBuilds newest first, BatchGetBuilds by 100; a build
/// kept running 30 minutes (the emulator's aid) is reported once; finished builds are not.
#[tokio::test]
async fn sweep_reports_running_builds_of_projects_in_scope_once() {
    use aws_sdk_codebuild::types::EnvironmentVariable;
    let s = setup().await;
    let project = ProjectFixture::new(&testing::unique("sweep")).create(&s.clients).await;
    let var = |name: &str, value: &str| EnvironmentVariable::builder().name(name).value(value).build().unwrap();
    s.clients.codebuild.start_build().project_name(&project).send().await.expect("start build");
    let running = s
        .clients
        .codebuild
        .start_build()
        .project_name(&project)
        .environment_variables_override(var("EMULATOR_STARTED_SECONDS_AGO", "1800"))
        .environment_variables_override(var("EMULATOR_KEEP_RUNNING", "true"))
        .send()
        .await
        .expect("start build")
        .build_value
        .and_then(|b| b.id)
        .unwrap();
    let monitor = s.monitor(&[("PROJECT_INCLUDE", project.as_str())]);
    let sweep: Value = serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap();
    let report = monitor.handle(&sweep).await.expect("sweep");
    assert_eq!(report.trigger, "scheduled-sweep");
    let summary = report.sweep.as_ref().unwrap();
    assert!(summary.pages >= 1 && summary.builds_read >= 2, "{summary:?}");
    assert_eq!(report.builds.len(), 1, "{report:?}");
    assert_eq!(report.builds[0].build_id.as_deref(), Some(running.as_str()));
    assert_eq!(report.builds[0].outcome, Outcome::Notified, "{report:?}");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    // Queued 2 s and provisioned in 30 s (the aid's phases): 29 min 28 s of its own.
    let subject = received[0].subject.as_deref().unwrap();
    assert!(subject.starts_with(&format!("Build overdue: {project} running 29 min ")), "{subject}");
    let again = monitor.handle(&sweep).await.expect("sweep");
    assert_eq!(again.builds[0].outcome, Outcome::AlreadyNotified);
    assert!(s.topic.drain().await.is_empty());
}

#[tokio::test]
async fn malformed_events_fail_with_clear_errors() {
    let clients = testing::emulator_clients().await;
    let monitor = BuildTimeMonitor::new(config(&[("CACHE_BUCKET", "any-bucket")]), &clients);
    for sample in testing::invalid_events() {
        let err =
            monitor.handle(&sample.event).await.expect_err(&format!("{} must be rejected", sample.path.display()));
        let message = err.to_string();
        assert!(
            message.contains(&sample.cause),
            "{}: error {message:?} does not name {:?}",
            sample.path.display(),
            sample.cause
        );
    }

    // A final event whose times cannot be read names the field.
    let mut event = slow_event("tts-malformed");
    event["detail"]["additional-information"]["build-start-time"] = json!("2026-11-20 09:15");
    let err = monitor.handle(&event).await.expect_err("bad start time");
    assert!(err.to_string().contains("build-start-time"), "{err}");
}

/// The README demo: the unmodified sample (a 33-minute build of tts-service-build) sends one
/// notice, and the timed-out sample another, whatever the emulator knows of that project.
#[tokio::test]
async fn the_event_samples_are_reported() {
    let s = setup().await;
    let monitor = s.monitor(&[]);
    // The scenario (and so the severity of the first sample) depends on whether the emulator holds
    // the sample's cache bucket; a timed-out build is always an error.
    for (file, status, severity) in
        [("build-succeeded.json", "SUCCEEDED", None), ("build-timed-out.json", "TIMED_OUT", Some("error"))]
    {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events").join(file);
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let report = monitor.handle(&event).await.expect(file);
        assert_eq!(report.builds[0].outcome, Outcome::Notified, "{file}: {report:?}");
        let received = s.topic.drain().await;
        assert_eq!(received.len(), 1, "{file}: {received:?}");
        let lead = if status == "TIMED_OUT" {
            "Build timed out: tts-service-build after "
        } else {
            "Slow build: tts-service-build took "
        };
        assert!(received[0].subject.as_deref().unwrap().starts_with(lead), "{received:?}");
        assert_eq!(received[0].attributes.get("status").map(String::as_str), Some(status));
        if let Some(severity) = severity {
            assert_eq!(received[0].attributes.get("severity").map(String::as_str), Some(severity));
        }
        assert!(received[0].message.contains("Phases:"), "{}", received[0].message);
    }
}
