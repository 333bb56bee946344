//! build-time-monitor's evidence that the cache works, against the emulator's CloudWatch Logs and
//! S3: the build log (events/logs/ fixtures loaded as CodeBuild writes them, one event a line) and
//! one listing of the cache location; the "cache not effective" notice after consecutive builds,
//! once; the cause a log names (Docker Hub's pull limit) in the email; logs that cannot be read
//! said, never a failure; the log reader's paging and bounds.
//!
//! moto's GetLogEvents pages by event count (10,000 at most) with forward tokens that repeat at the
//! end of the stream, as AWS documents; it does not cut pages at 1 MB as AWS does (the reader
//! bounds bytes itself, page by page, so either way it stays within MONITOR_LOG_MAX_BYTES plus one
//! page). PutLogEvents accepts events of the last 14 days only: fixtures are replayed ending now.

use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use cache_sentinel::aws::logs::{BuildLogs, LogReadLimits};
use cache_sentinel::monitor::evidence::{Cause, LogAccess};
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig, Outcome};
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The monitor of the sandbox's bucket and topic, with `extra` variables (the corpus uses it too).
pub(crate) fn monitor(s: &Sandbox, extra: &[(&str, &str)]) -> BuildTimeMonitor {
    let mut env: HashMap<String, String> =
        [("CACHE_BUCKET", s.bucket.as_str()), ("NOTIFY_TOPIC_ARN", s.topic.topic_arn.as_str())]
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
    env.entry("MONITOR_INEFFECTIVE_CACHE_BUILDS".into()).or_insert_with(|| "3".into());
    BuildTimeMonitor::new(MonitorConfig::from_env(&env).expect("config"), &s.clients)
}

pub(crate) fn logs_client(s: &Sandbox) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&s.clients.sdk)
}

/// Writes a log fixture to `group`/`stream` as CodeBuild would: one event a line, each at the time
/// of the last CodeBuild line before it, the whole replayed to end a minute ago.
pub(crate) async fn put_log(client: &aws_sdk_cloudwatchlogs::Client, group: &str, stream: &str, text: &str) {
    let _ = client.create_log_group().log_group_name(group).send().await;
    client.create_log_stream().log_group_name(group).log_stream_name(stream).send().await.expect("create stream");
    let mut times = Vec::new();
    let mut last: Option<i64> = None;
    for line in text.lines() {
        let stamp = line.strip_prefix("[Container] ").and_then(|r| r.get(..26));
        if let Some(t) = stamp.and_then(|s| NaiveDateTime::parse_from_str(s, "%Y/%m/%d %H:%M:%S%.f").ok()) {
            last = Some(t.and_utc().timestamp_millis());
        }
        times.push(last.unwrap_or(0));
    }
    let end = times.iter().copied().max().unwrap_or(0);
    let shift = (Utc::now() - chrono::Duration::minutes(1)).timestamp_millis() - end;
    let events: Vec<InputLogEvent> = text
        .lines()
        .zip(times)
        .map(|(line, t)| {
            let message = if line.is_empty() { " " } else { line };
            InputLogEvent::builder()
                .timestamp((t + shift).max(end + shift - 86_400_000))
                .message(message)
                .build()
                .unwrap()
        })
        .collect();
    for batch in events.chunks(5_000) {
        client
            .put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(batch.to_vec()))
            .send()
            .await
            .expect("put log events");
    }
}

/// CodeBuild's event time format ("Nov 20, 2026 9:15:01 AM").
fn codebuild_time(t: DateTime<Utc>) -> String {
    t.format("%b %-d, %Y %-I:%M:%S %p").to_string()
}

/// A final build event of `minutes`, started `started_minutes_ago`, on the S3 cache at
/// `<bucket>/<project>`, its log at `/aws/codebuild/<project>`/`<uuid>`.
pub(crate) fn final_event(
    s: &Sandbox,
    project: &str,
    uuid: &str,
    status: &str,
    minutes: i64,
    started_minutes_ago: i64,
) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    let arn = format!("arn:aws:codebuild:{}:{}:build/{project}:{uuid}", testing::region(), testing::ACCOUNT);
    let start = Utc::now() - chrono::Duration::minutes(started_minutes_ago);
    let end = start + chrono::Duration::minutes(minutes);
    event["id"] = json!(testing::unique("evt"));
    event["region"] = json!(testing::region());
    event["resources"] = json!([arn]);
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-id"] = json!(arn);
    event["detail"]["build-status"] = json!(status);
    let info = &mut event["detail"]["additional-information"];
    info["cache"] = json!({"type": "S3", "location": format!("{}/{project}", s.bucket)});
    info["logs"] = json!({"group-name": format!("/aws/codebuild/{project}"), "stream-name": uuid});
    let (start, end) = (codebuild_time(start), codebuild_time(end));
    info["build-start-time"] = json!(start);
    info["phases"] = json!([
        {"phase-context": [], "start-time": start, "end-time": end, "duration-in-seconds": minutes * 60, "phase-type": "BUILD", "phase-status": status},
        {"start-time": end, "phase-type": "COMPLETED"}
    ]);
    event
}

/// A build in the emulator's history reported exactly as `spec` says (EMULATOR_BUILD); its id.
pub(crate) async fn fixed_build(s: &Sandbox, project: &str, spec: Value) -> String {
    use aws_sdk_codebuild::types::{EnvironmentVariable, EnvironmentVariableType};
    let fixed = EnvironmentVariable::builder()
        .name("EMULATOR_BUILD")
        .value(spec.to_string())
        .r#type(EnvironmentVariableType::Plaintext)
        .build()
        .unwrap();
    let out =
        s.clients.codebuild.start_build().project_name(project).environment_variables_override(fixed).send().await;
    out.unwrap().build_value().and_then(|b| b.id()).unwrap().to_owned()
}

/// An object in the project's cache location from before its build: the cache is not empty.
async fn warm_cache(s: &Sandbox, project: &str) {
    let put = s.clients.s3.put_object().bucket(&s.bucket).key(format!("{project}/0f3a-cache"));
    put.body(b"x".to_vec().into()).send().await.expect("put cache object");
}

/// What CodeBuild leaves of a build whose cache worked: its log (restored, 3 of 19 Docker steps
/// cached) in the project's log group under `uuid`, and the cache it uploaded, `key`, written now.
pub(crate) async fn cache_working_build(
    s: &Sandbox,
    logs: &aws_sdk_cloudwatchlogs::Client,
    project: &str,
    uuid: &str,
    key: &str,
) {
    let log = include_str!("../../../events/logs/buildkit-partly-cached.log");
    put_log(logs, &format!("/aws/codebuild/{project}"), uuid, log).await;
    s.clients.s3.put_object().bucket(&s.bucket).key(key).body(b"x".to_vec().into()).send().await.unwrap();
}

#[tokio::test]
async fn the_slow_build_email_carries_the_log_evidence() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let uuid = testing::unique("b");
    // CodeBuild's upload: an object written after the build started.
    cache_working_build(&s, &logs_client(&s), &project, &uuid, &format!("{project}/5c1d-cache")).await;
    let event = final_event(&s, &project, &uuid, "SUCCEEDED", 33, 40);

    let report = monitor(&s, &[]).handle(&event).await.expect("monitor");
    let b = &report.builds[0];
    assert_eq!(b.outcome, Outcome::Notified, "{report:?}");
    let evidence = b.evidence.as_ref().expect("evidence in the JSON result");
    assert!(matches!(evidence.log, LogAccess::Read(r) if r.complete && r.pages >= 1), "{:?}", evidence.log);
    assert_eq!(evidence.problems.code(), "nnnn", "restored, uploaded, cache defined, layers reused");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["builds"][0]["evidence"]["found"]["docker"]["cached"], 3);
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].message;
    for line in [
        "Restore:   S3 cache restored in 7 s",
        "Docker:    4 of 20 steps cached; first rebuilt: [ 5/20] COPY requirements.txt . (BuildKit)",
        "Upload:    written to s3://",
        "Log:       read the whole log (152 lines)",
    ] {
        assert!(body.contains(line), "body lacks {line:?}:\n{body}");
    }
}

/// The case: a 25-minute build of unchanged source (5-8 min expected) whose log shows
/// Docker Hub's pull limit on the 4 GB base image: the email names it, quotes the line, says the fix.
#[tokio::test]
async fn a_slow_build_whose_log_shows_the_pull_limit_gets_an_email_naming_it() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let uuid = testing::unique("b");
    let log = include_str!("../../../events/logs/pull-rate-limit.log");
    put_log(&logs_client(&s), &format!("/aws/codebuild/{project}"), &uuid, log).await;
    warm_cache(&s, &project).await;
    // Started after the emulator's past build below (moto dates it now).
    let event = final_event(&s, &project, &uuid, "SUCCEEDED", 25, -1);
    // The last success built the same source version: nothing changed.
    let source = event["detail"]["additional-information"]["source-version"].as_str().unwrap().to_owned();
    let past = s.clients.codebuild.start_build().project_name(&project).source_version(&source).send().await.unwrap();
    let id = past.build_value().and_then(|b| b.id()).unwrap().to_owned();
    s.clients.codebuild.batch_get_builds().ids(id).send().await.unwrap(); // moto completes it when read

    let report = monitor(&s, &[]).handle(&event).await.expect("monitor");
    assert_eq!(report.builds[0].outcome, Outcome::Notified, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    let causes = &json["builds"][0]["evidence"]["found"]["causes"];
    assert_eq!(causes[0]["kind"], "pull_rate_limit", "{causes}");
    assert_eq!(causes[0]["count"], 2);
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].message;
    for line in [
        "Causes named in the build log:",
        "  - Docker Hub's pull rate limit: the base image could not be pulled, or only after retries.",
        "    Log (2 lines): Error response from daemon: toomanyrequests: You have reached your pull rate limit.",
        "    Fix: pull the base image from Amazon ECR Public or an ECR pull-through cache",
    ] {
        assert!(body.contains(line), "body lacks {line:?}:\n{body}");
    }
}

#[tokio::test]
async fn a_buildspec_without_cache_is_notified_once_after_three_builds() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("worker")).create(&s.clients).await;
    let logs = logs_client(&s);
    let monitor = monitor(&s, &[]);
    let mut notices = Vec::new();
    for n in 0..4 {
        let uuid = testing::unique("b");
        put_log(
            &logs,
            &format!("/aws/codebuild/{project}"),
            &uuid,
            include_str!("../../../events/logs/no-cache-in-buildspec.log"),
        )
        .await;
        // Fast builds (2 minutes, a first build's range is 20-28): no slow-build notice.
        let event = final_event(&s, &project, &uuid, "SUCCEEDED", 2, 60 - n * 10);
        let report = monitor.handle(&event).await.expect("monitor");
        let b = &report.builds[0];
        assert_eq!(b.outcome, Outcome::WithinTime, "{report:?}");
        assert_eq!(b.evidence.as_ref().unwrap().problems.code(), "yyyy");
        notices.push(b.cache_notice.clone());
    }
    assert_eq!(notices[0], None);
    assert_eq!(notices[1], None);
    let third = notices[2].as_ref().expect("the third build completes the streak");
    assert_eq!(third.outcome, Outcome::Notified);
    assert_eq!(third.causes, Cause::ALL.to_vec());
    assert_eq!(notices[3].as_ref().map(|n| n.outcome), Some(Outcome::AlreadyNotified), "once per project and cause");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let n = &received[0];
    assert_eq!(n.attributes.get("kind").map(String::as_str), Some("cache-not-effective"));
    let subject = n.subject.as_deref().unwrap();
    assert!(subject.starts_with(&format!("Cache not effective: {project}: nothing restored")), "{subject}");
    assert!(subject.len() <= 99, "{subject}");
    assert!(n.message.contains("Cache is not defined in the buildspec"), "{}", n.message);
    assert!(n.message.contains("cache:\n        paths:"), "{}", n.message);

    // A build with the cache working again releases the markers: a relapse would be notified again.
    let uuid = testing::unique("b");
    cache_working_build(&s, &logs, &project, &uuid, &format!("{project}/new-cache")).await;
    let report = monitor.handle(&final_event(&s, &project, &uuid, "SUCCEEDED", 2, 5)).await.expect("monitor");
    assert_eq!(report.builds[0].recovered, Cause::ALL.to_vec(), "{report:?}");
}

/// Docker layers from an ECR registry cache (`--cache-from type=registry`), the buildspec without S3
/// cache paths, several fast builds: the cache works, so no "cache not effective" notice; the same
/// log without the registry's layers is one after three builds (the test above).
#[tokio::test]
async fn a_registry_cache_over_fast_builds_is_an_effective_cache() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let logs = logs_client(&s);
    let monitor = monitor(&s, &[]);
    for n in 0..4 {
        let uuid = testing::unique("b");
        let log = include_str!("../../../events/logs/buildkit-registry-cache.log");
        put_log(&logs, &format!("/aws/codebuild/{project}"), &uuid, log).await;
        let report =
            monitor.handle(&final_event(&s, &project, &uuid, "SUCCEEDED", 3, 60 - n * 10)).await.expect("monitor");
        let b = &report.builds[0];
        assert_eq!((b.outcome, b.cache_notice.clone()), (Outcome::WithinTime, None), "{report:?}");
        let evidence = b.evidence.as_ref().unwrap();
        assert_eq!(evidence.problems.code(), "nnnn", "{evidence:?}");
        let effective = evidence.effective.as_deref().unwrap_or_default();
        assert!(effective.contains("tts-service:cache"), "{effective}");
        let docker = evidence.found.as_ref().and_then(|f| f.docker.as_ref()).unwrap();
        assert_eq!((docker.remote, docker.rebuilt), (1, 2), "{docker:?}");
    }
    assert!(s.topic.drain().await.is_empty(), "nothing to tell anyone");
}

#[tokio::test]
async fn logs_that_cannot_be_read_are_said_not_failed() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let event = final_event(&s, &project, &testing::unique("missing"), "SUCCEEDED", 33, 40);
    let report = monitor(&s, &[]).handle(&event).await.expect("a missing log is no failure");
    let evidence = report.builds[0].evidence.as_ref().unwrap();
    assert!(matches!(evidence.log, LogAccess::NotFound { .. }), "{:?}", evidence.log);
    let received = s.topic.drain().await;
    assert!(
        received[0].message.contains("Log:       not read: the log stream does not exist"),
        "{}",
        received[0].message
    );
    assert!(received[0].message.contains("Upload:    nothing was uploaded to s3://"), "{}", received[0].message);
}

#[tokio::test]
async fn a_marker_without_a_build_id_is_keyed_by_the_event() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let mut event = final_event(&s, &project, &testing::unique("b"), "SUCCEEDED", 33, 40);
    event["detail"].as_object_mut().unwrap().remove("build-id");
    // Every slow build sent (no per-project window): this is about the per-event key.
    let monitor = monitor(&s, &[("MONITOR_REPEAT_HOURS", "0")]);
    assert_eq!(monitor.handle(&event).await.unwrap().builds[0].outcome, Outcome::Notified);
    assert_eq!(monitor.handle(&event).await.unwrap().builds[0].outcome, Outcome::AlreadyNotified, "a redelivery");
    event["id"] = json!(testing::unique("evt"));
    assert_eq!(
        monitor.handle(&event).await.unwrap().builds[0].outcome,
        Outcome::Notified,
        "another event of the project is not silenced"
    );
    assert_eq!(s.topic.drain().await.len(), 2);
}

/// The case: a build whose S3 cache download and upload take 9 minutes and whose reused
/// Docker steps took 4 minutes in the project's last build that ran them: the email says the cache
/// costs more than it saves, with both figures, and what is cheaper.
#[tokio::test]
async fn a_cache_whose_own_work_takes_longer_than_it_saves_is_said_with_both_figures() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let logs = logs_client(&s);
    let group = format!("/aws/codebuild/{project}");
    let log = include_str!("../../../events/logs/s3-layer-archive.log");
    // The earlier build ran the four steps this one reuses: 60 + 30 + 0.1 + 149.9 s, 4 minutes.
    let earlier = log
        .replace("#5 CACHED", "#5 DONE 60.0s")
        .replace("#6 CACHED", "#6 DONE 30.0s")
        .replace("#7 CACHED", "#7 DONE 0.1s")
        .replace("#8 CACHED", "#8 DONE 149.9s");
    let earlier_stream = testing::unique("a");
    put_log(&logs, &group, &earlier_stream, &earlier).await;
    let uuid = testing::unique("b");
    put_log(&logs, &group, &uuid, log).await;
    warm_cache(&s, &project).await;
    let event = final_event(&s, &project, &uuid, "SUCCEEDED", 25, -1);
    let source = event["detail"]["additional-information"]["source-version"].as_str().unwrap().to_owned();
    let spec = json!({"start": (Utc::now() - chrono::Duration::hours(2)).to_rfc3339(), "status": "SUCCEEDED",
        "phases": [["BUILD", 1500]], "sourceVersion": source, "logs": [group, earlier_stream]});
    let earlier_id = fixed_build(&s, &project, spec).await;

    let report = monitor(&s, &[]).handle(&event).await.expect("monitor");
    let b = &report.builds[0];
    assert_eq!(b.outcome, Outcome::Notified, "{report:?}");
    let json = serde_json::to_value(&report).unwrap();
    let value = &json["builds"][0]["evidence"]["value"];
    assert_eq!((value["cost_seconds"].as_u64(), value["saved_seconds"].as_u64()), (Some(540), Some(240)), "{value}");
    assert_eq!((value["reused_steps"].as_u64(), value["costs_more"].as_bool()), (Some(4), Some(true)));
    assert_eq!(value["from_build"], json!(earlier_id));
    let received = s.topic.drain().await;
    let body = &received[0].message;
    let overhead = format!(
        "Overhead:  9 min 0 s (S3 restore 5 min 0 s, S3 upload 4 min 0 s); it saved 4 min 0 s, what the 4 reused step(s) took in build {earlier_id}, which ran them: the cache costs more than it saves"
    );
    assert!(body.contains(&overhead), "body lacks {overhead:?}:\n{body}");
    assert!(body.contains("Cheaper:   a registry cache in ECR"), "{body}");
}

/// A failed build whose log shows a full disk: one email naming it, not a slow-build one; the same
/// cause failing again that day sends nothing more; the JSON says which.
#[tokio::test]
async fn a_failed_build_gets_the_cause_its_log_names_once_a_day() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let monitor = monitor(&s, &[]);
    let log = include_str!("../../../events/logs/buildkit-no-space.log");
    let mut reports = vec![];
    for _ in 0..2 {
        let uuid = testing::unique("b");
        put_log(&logs_client(&s), &format!("/aws/codebuild/{project}"), &uuid, log).await;
        let event = final_event(&s, &project, &uuid, "FAILED", 22, 40);
        reports.push(monitor.handle(&event).await.expect("monitor"));
    }
    let first = &reports[0].builds[0];
    assert_eq!(first.outcome, Outcome::Unsuccessful, "never a slow-build notice: {first:?}");
    let notice = first.cause_notice.as_ref().expect("a cause notice");
    assert_eq!(notice.outcome, Outcome::Notified);
    let json = serde_json::to_value(&reports[0]).unwrap();
    assert_eq!(json["builds"][0]["cause_notice"]["sent"], json!(["no_space"]));
    let second = reports[1].builds[0].cause_notice.as_ref().expect("judged again");
    assert_eq!((second.outcome, second.already.len()), (Outcome::AlreadyNotified, 1), "{second:?}");

    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "one email for the cause that day: {received:?}");
    let subject = received[0].subject.as_deref().unwrap_or_default();
    assert!(subject.starts_with("Build failed: tts-") && subject.ends_with(": no space left on device"), "{subject}");
    assert_eq!(received[0].attributes.get("kind").map(String::as_str), Some("failed-cause"));
    let body = &received[0].message;
    assert!(body.contains("Log (2 lines): #10 812.404 ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device"), "{body}");
    assert!(body.contains("once per project, cause and day"), "{body}");
}

/// A build that restored the cache and failed where the build before it succeeded on the same
/// source: a stale cache, named with the command that invalidates it.
#[tokio::test]
async fn a_failure_right_after_a_restore_of_a_source_that_built_names_a_stale_cache() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let uuid = testing::unique("b");
    // The partly-cached build's log, ending in a failure of the app step (no cause of its own).
    let log = include_str!("../../../events/logs/buildkit-partly-cached.log")
        .replace("Phase complete: BUILD State: SUCCEEDED", "Phase complete: BUILD State: FAILED");
    put_log(&logs_client(&s), &format!("/aws/codebuild/{project}"), &uuid, &log).await;
    let event = final_event(&s, &project, &uuid, "FAILED", 12, -1);
    let source = event["detail"]["additional-information"]["source-version"].as_str().unwrap().to_owned();
    let spec = json!({"start": (Utc::now() - chrono::Duration::hours(1)).to_rfc3339(), "status": "SUCCEEDED",
        "phases": [["BUILD", 600]], "sourceVersion": source});
    fixed_build(&s, &project, spec).await;

    let report = monitor(&s, &[]).handle(&event).await.expect("monitor");
    let notice = report.builds[0].cause_notice.as_ref().expect("a cause notice");
    assert_eq!(notice.outcome, Outcome::Notified, "{report:?}");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1);
    let body = &received[0].message;
    assert!(body.contains("A stale cache: the same source built before"), "{body}");
    assert!(body.contains(&format!("aws codebuild invalidate-project-cache --project-name {project}")), "{body}");
    assert!(!body.contains("slow base image pull"), "a slow pull is no reason a build failed: {body}");
}

#[tokio::test]
async fn failed_and_stopped_builds_never_get_a_slow_build_email() {
    let s = Sandbox::new().await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let monitor = monitor(&s, &[]);
    for (status, minutes, outcome) in [
        ("STOPPED", 10, Outcome::Stopped),
        ("STOPPED", 33, Outcome::Stopped),
        ("FAILED", 33, Outcome::Unsuccessful),
        ("FAULT", 33, Outcome::Unsuccessful),
    ] {
        let event = final_event(&s, &project, &testing::unique("b"), status, minutes, 40);
        let report = monitor.handle(&event).await.unwrap();
        assert_eq!(report.builds[0].outcome, outcome, "{status} after {minutes} min: {report:?}");
        assert!(report.builds[0].reason.contains("no slow-build notice"), "{}", report.builds[0].reason);
    }
    assert!(s.topic.drain().await.is_empty(), "no email for a build that did not succeed or time out");
}

#[tokio::test]
async fn the_log_reader_pages_to_the_end_or_stops_at_its_bound_and_reads_the_tail() {
    let s = Sandbox::new().await;
    let client = logs_client(&s);
    let group = format!("/aws/codebuild/{}", testing::unique("pages"));
    let mut text = String::from("[Container] 2026/11/20 09:15:41.992301 Downloading S3 cache...\n");
    for i in 0..24_998 {
        text.push_str(&format!("#9 {i}.0 line {i}\n"));
    }
    text.push_str("[Container] 2026/11/20 09:48:31.770912 Uploading S3 cache...\n");
    put_log(&client, &group, "s", &text).await;
    let reader = BuildLogs::new(client);
    let (mut head, mut tail) = (0u64, 0u64);
    let all = reader
        .read(&group, "s", LogReadLimits { max_pages: 100, max_bytes: 256_000_000 }, |_, _| head += 1, |_, _| tail += 1)
        .await
        .expect("read");
    assert!(all.complete && !all.tail_read, "{all:?}");
    assert_eq!((head, tail, all.events), (25_000, 0, 25_000));
    assert_eq!(all.pages, 4, "10,000 + 10,000 + 5,000, then the repeated token");
    let (mut head, mut tails) = (0u64, Vec::new());
    let bounded = reader
        .read(
            &group,
            "s",
            LogReadLimits { max_pages: 1, max_bytes: 256_000_000 },
            |_, _| head += 1,
            |m, _| tails.push(m.to_owned()),
        )
        .await
        .expect("read");
    assert!(!bounded.complete && bounded.tail_read, "{bounded:?}");
    assert_eq!((bounded.pages, head), (2, 10_000));
    assert_eq!(tails.last().map(String::as_str), Some("[Container] 2026/11/20 09:48:31.770912 Uploading S3 cache..."));
    let missing =
        reader.read(&group, "nope", LogReadLimits { max_pages: 1, max_bytes: 64_000 }, |_, _| {}, |_, _| {}).await;
    assert_eq!(missing.expect_err("no such stream").kind, cache_sentinel::error::AwsErrorKind::NotFound);
}
