//! What moto's CodeBuild cannot produce: builds with exported environment variables and a
//! history with real durations. CodeBuild is mocked (aws-smithy-mocks) with BatchGetBuilds and
//! ListBuildsForProject outputs of the documented shape; S3 and SNS are the emulator's, so the
//! notice is read as a subscriber receives it.

use aws_sdk_codebuild::Client as CodeBuild;
use aws_sdk_codebuild::operation::batch_get_builds::BatchGetBuildsOutput;
use aws_sdk_codebuild::operation::list_builds_for_project::ListBuildsForProjectOutput;
use aws_sdk_codebuild::types::{Build, ExportedEnvironmentVariable, StatusType};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime as SmithyTime;
use cache_sentinel::aws::Clients;
use cache_sentinel::monitor::Outcome;
use cache_sentinel::monitor::scenario::Scenario;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use cache_sentinel::testing::{self, TopicWithQueue};
use serde_json::{Value, json};
use std::collections::HashMap;

const START: i64 = 1_795_166_101; // 2026-11-20T09:15:01Z, the sample's build-start-time

fn past_build(project: &str, n: i64, minutes: i64) -> Build {
    let start = START - n * 3600;
    Build::builder()
        .id(format!("{project}:past-{n}"))
        .arn(format!("arn:aws:codebuild:ap-south-1:123456789012:build/{project}:past-{n}"))
        .project_name(project)
        .build_status(StatusType::Succeeded)
        .start_time(SmithyTime::from_secs(start))
        .end_time(SmithyTime::from_secs(start + minutes * 60))
        .resolved_source_version(format!("commit-{n}"))
        // Requirements changes, like the build judged: the baseline compares like with like.
        .exported_environment_variables(
            ExportedEnvironmentVariable::builder().name("CACHE_SENTINEL_SCENARIO").value("requirements").build(),
        )
        .build()
}

#[tokio::test]
async fn exported_scenario_and_history_baseline_are_used() {
    let emulator = testing::emulator_clients().await;
    let bucket = testing::unique("cache");
    testing::create_bucket(&emulator, &bucket).await;
    let topic = TopicWithQueue::create(&emulator, &testing::unique("topic")).await;
    let project = testing::unique("tts");

    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    let build_id = format!("{project}:current");
    event["detail"]["project-name"] = json!(project);
    event["detail"]["build-id"] = json!(format!("arn:aws:codebuild:ap-south-1:123456789012:build/{build_id}"));

    // The judged build, as BatchGetBuilds returns it: the buildspec exported the scenario.
    let current = Build::builder()
        .id(&build_id)
        .project_name(&project)
        .build_status(StatusType::Succeeded)
        .start_time(SmithyTime::from_secs(START))
        .resolved_source_version("commit-new")
        .exported_environment_variables(
            ExportedEnvironmentVariable::builder().name("CACHE_SENTINEL_SCENARIO").value("requirements").build(),
        )
        .build();
    // Six earlier successful requirements changes of 10-15 minutes: p90 15 min, limit 22 min 30 s.
    let history: Vec<Build> = (1..=6).map(|n| past_build(&project, n, 9 + n)).collect();
    let history_ids: Vec<String> = history.iter().filter_map(|b| b.id().map(str::to_owned)).collect();

    let wanted = build_id.clone();
    let get_current = mock!(CodeBuild::batch_get_builds)
        .match_requests(move |r| r.ids() == [wanted.clone()])
        .then_output(move || BatchGetBuildsOutput::builder().builds(current.clone()).build());
    let ids = history_ids.clone();
    let list = mock!(CodeBuild::list_builds_for_project)
        .then_output(move || ListBuildsForProjectOutput::builder().set_ids(Some(ids.clone())).build());
    let get_history = mock!(CodeBuild::batch_get_builds)
        .then_output(move || BatchGetBuildsOutput::builder().set_builds(Some(history.clone())).build());
    let codebuild = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&get_current, &list, &get_history]);

    let clients = Clients { codebuild, ..emulator.clone() };
    let env: HashMap<String, String> =
        [("CACHE_BUCKET".to_owned(), bucket.clone()), ("NOTIFY_TOPIC_ARN".to_owned(), topic.topic_arn.clone())].into();
    let monitor = BuildTimeMonitor::new(MonitorConfig::from_env(&env).unwrap(), &clients);

    let report = monitor.handle(&event).await.expect("monitor");
    let b = &report.builds[0];
    assert_eq!(b.outcome, Outcome::Notified, "{report:?}");
    let v = b.verdict.as_ref().unwrap();
    assert_eq!(v.scenario.scenario, Scenario::Requirements);
    assert_eq!(v.expected.high_minutes, 20.0);
    let baseline = v.baseline.as_ref().unwrap();
    assert_eq!((baseline.samples, baseline.median_seconds, baseline.p90_seconds), (6, 750, 900));
    assert_eq!(v.baseline_limit_seconds, Some(1350));
    assert!(v.over_expected && v.over_baseline);
    assert_eq!(get_current.num_calls(), 1);
    assert_eq!(list.num_calls(), 1);

    let received = topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].message;
    assert_eq!(received[0].attributes.get("scenario").map(String::as_str), Some("requirements"));
    assert!(body.contains("Expected:  15-20 min, over by 12 min 56 s"), "{body}");
    assert!(body.contains("the buildspec exported CACHE_SENTINEL_SCENARIO=requirements"), "{body}");
    assert!(body.contains("median 12 min 30 s, p90 15 min 0 s of the last 6 successful builds; limit p90 x 1.5 = 22 min 30 s, over by 10 min 26 s"), "{body}");
}

fn json_error(code: &str, message: &str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
        aws_smithy_types::body::SdkBody::from(format!(r#"{{"__type":"{code}","message":"{message}"}}"#)),
    )
}

fn running(project: &str, name: &str) -> Build {
    let id = format!("{project}:{name}");
    Build::builder()
        .id(&id)
        .arn(format!("arn:aws:codebuild:ap-south-1:123456789012:build/{id}"))
        .project_name(project)
        .build_status(StatusType::InProgress)
        .start_time(SmithyTime::from_secs(START))
        .build()
}

/// The sweep end to end: ListBuilds (newest first) and BatchGetBuilds by 100 find two builds still
/// IN_PROGRESS 30 minutes after they started (moto would complete them on read) and one out of
/// scope. One is reported once; the other's history read fails transiently: that build is reported
/// as failed and the sweep goes on. The next sweep is quiet. A failed listing fails the sweep.
#[tokio::test]
async fn sweep_reports_running_builds_and_one_build_failing_does_not_fail_the_sweep() {
    use aws_sdk_codebuild::operation::list_builds::ListBuildsOutput;
    use cache_sentinel::clock::FixedClock;
    use cache_sentinel::monitor::MonitorError;
    use std::sync::Arc;

    let emulator = testing::emulator_clients().await;
    let bucket = testing::unique("cache");
    testing::create_bucket(&emulator, &bucket).await;
    let topic = TopicWithQueue::create(&emulator, &testing::unique("topic")).await;
    let (ok, broken) = (testing::unique("tts"), testing::unique("web"));
    let builds = vec![running(&ok, "a"), running(&broken, "b"), running("web-sandbox", "c")];
    let ids: Vec<String> = builds.iter().filter_map(|b| b.id().map(str::to_owned)).collect();
    let list_builds = mock!(CodeBuild::list_builds)
        .sequence()
        .output(move || ListBuildsOutput::builder().set_ids(Some(ids.clone())).build())
        .times(2)
        .http_response(|| json_error("ThrottlingException", "Rate exceeded"))
        .build();
    let get_builds = mock!(CodeBuild::batch_get_builds)
        .then_output(move || BatchGetBuildsOutput::builder().set_builds(Some(builds.clone())).build());
    let broken_project = broken.clone();
    let history_fails = mock!(CodeBuild::list_builds_for_project)
        .match_requests(move |r| r.project_name() == Some(broken_project.as_str()))
        .then_http_response(|| json_error("ThrottlingException", "Rate exceeded"));
    let history =
        mock!(CodeBuild::list_builds_for_project).then_output(|| ListBuildsForProjectOutput::builder().build());
    let codebuild =
        mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&list_builds, &get_builds, &history_fails, &history]);
    let clients = Clients { codebuild, ..emulator.clone() };
    let env: HashMap<String, String> = [
        ("CACHE_BUCKET".to_owned(), bucket.clone()),
        ("NOTIFY_TOPIC_ARN".to_owned(), topic.topic_arn.clone()),
        ("PROJECT_EXCLUDE".to_owned(), "*-sandbox".to_owned()),
    ]
    .into();
    let now = chrono::DateTime::from_timestamp(START + 30 * 60, 0).unwrap();
    let monitor =
        BuildTimeMonitor::new(MonitorConfig::from_env(&env).unwrap(), &clients).with_clock(Arc::new(FixedClock(now)));
    let sweep: Value = serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap();

    let report = monitor.handle(&sweep).await.expect("one build failing does not fail the sweep");
    let summary = report.sweep.as_ref().unwrap();
    assert_eq!((summary.pages, summary.builds_read, summary.running_in_scope, summary.candidates), (1, 3, 2, 2));
    assert_eq!(report.builds.len(), 2, "{report:?}");
    let outcome = |project: &str| report.builds.iter().find(|b| b.project == project).unwrap();
    assert_eq!(outcome(&ok).outcome, Outcome::Notified, "{report:?}");
    assert_eq!(outcome(&broken).outcome, Outcome::Failed);
    assert!(outcome(&broken).reason.contains("codebuild:ListBuildsForProject"), "{}", outcome(&broken).reason);
    let received = topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        received[0].subject.as_deref(),
        Some(format!("Build overdue: {ok} running 30 min 0 s (expected <= 28 min)").as_str())
    );
    assert_eq!(received[0].attributes.get("kind").map(String::as_str), Some("running-overdue"));
    assert_eq!(received[0].attributes.get("status").map(String::as_str), Some("IN_PROGRESS"));

    let again = monitor.handle(&sweep).await.expect("sweep");
    assert_eq!(again.builds.iter().find(|b| b.project == ok).unwrap().outcome, Outcome::AlreadyNotified);
    assert!(topic.drain().await.is_empty());

    let err = monitor.handle(&sweep).await.expect_err("a throttled listing fails the sweep, so that it is retried");
    assert!(matches!(err, MonitorError::Listing(_)), "{err}");
    assert_eq!(err.error_type(), "BuildTimeMonitor.ListingFailed");
}

/// A log the role may not read is said in the email (and the JSON result), never a failure.
#[tokio::test]
async fn a_denied_log_read_is_said_not_failed() {
    use aws_sdk_cloudwatchlogs::Client as Logs;
    use cache_sentinel::aws::logs::BuildLogs;
    use cache_sentinel::monitor::evidence::LogAccess;

    let emulator = testing::emulator_clients().await;
    let bucket = testing::unique("cache");
    testing::create_bucket(&emulator, &bucket).await;
    let topic = TopicWithQueue::create(&emulator, &testing::unique("topic")).await;
    let denied = mock!(Logs::get_log_events).then_http_response(|| {
        json_error(
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/monitor is not authorized to perform: logs:GetLogEvents",
        )
    });
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&denied]);
    let env: HashMap<String, String> =
        [("CACHE_BUCKET".to_owned(), bucket.clone()), ("NOTIFY_TOPIC_ARN".to_owned(), topic.topic_arn.clone())].into();
    let monitor =
        BuildTimeMonitor::new(MonitorConfig::from_env(&env).unwrap(), &emulator).with_logs(BuildLogs::new(logs));
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["detail"]["project-name"] = json!(testing::unique("tts"));
    event["id"] = json!(testing::unique("evt"));
    let report = monitor.handle(&event).await.expect("a denied log read is no failure");
    let evidence = report.builds[0].evidence.as_ref().unwrap();
    assert!(
        matches!(&evidence.log, LogAccess::Denied { reason } if reason.contains("logs:GetLogEvents")),
        "{:?}",
        evidence.log
    );
    assert_eq!(denied.num_calls(), 1);
    let received = topic.drain().await;
    assert!(received[0].message.contains("Log:       not read: access denied"), "{}", received[0].message);
}
