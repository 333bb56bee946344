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
use cache_sentinel::monitor::scenario::Scenario;
use cache_sentinel::monitor::service::Outcome;
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
    // Six earlier successful builds of 10-15 minutes: p90 15 min, limit 22 min 30 s.
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
    assert!(body.contains("Expected:  15-20 min, over by 13 min 36 s"), "{body}");
    assert!(body.contains("the buildspec exported CACHE_SENTINEL_SCENARIO=requirements"), "{body}");
    assert!(body.contains("median 12 min 30 s, p90 15 min 0 s of the last 6 successful builds; limit p90 x 1.5 = 22 min 30 s, over by 11 min 6 s"), "{body}");
}

/// The sweep end to end: a build still IN_PROGRESS 30 minutes after it started (moto would
/// complete it on read) is reported once as running overdue; the next sweep is quiet; a build of
/// another project out of scope costs nothing.
#[tokio::test]
async fn sweep_reports_a_running_build_once() {
    use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
    use cache_sentinel::clock::FixedClock;
    use std::sync::Arc;

    let emulator = testing::emulator_clients().await;
    let bucket = testing::unique("cache");
    testing::create_bucket(&emulator, &bucket).await;
    let topic = TopicWithQueue::create(&emulator, &testing::unique("topic")).await;
    let project = testing::unique("tts");
    let running_id = format!("{project}:running");
    let running = Build::builder()
        .id(&running_id)
        .arn(format!("arn:aws:codebuild:ap-south-1:123456789012:build/{running_id}"))
        .project_name(&project)
        .build_status(StatusType::InProgress)
        .start_time(SmithyTime::from_secs(START))
        .build();

    let names = vec![project.clone(), "web-sandbox".to_owned()];
    let list_projects = mock!(CodeBuild::list_projects)
        .sequence()
        .output(move || ListProjectsOutput::builder().set_projects(Some(names.clone())).build())
        .repeatedly()
        .build();
    let id = running_id.clone();
    let list_builds = mock!(CodeBuild::list_builds_for_project)
        .sequence()
        .output(move || ListBuildsForProjectOutput::builder().ids(id.clone()).build())
        .repeatedly()
        .build();
    let get_builds = mock!(CodeBuild::batch_get_builds)
        .sequence()
        .output(move || BatchGetBuildsOutput::builder().builds(running.clone()).build())
        .repeatedly()
        .build();
    let codebuild = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&list_projects, &list_builds, &get_builds]);
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

    let report = monitor.handle(&sweep).await.expect("sweep");
    assert_eq!(report.builds.len(), 1, "{report:?}");
    assert_eq!(report.builds[0].outcome, Outcome::Notified, "{report:?}");
    assert_eq!(
        list_builds.num_calls(),
        2,
        "one listing for the sweep (the sandbox project is out of scope), one for the history"
    );
    let received = topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(
        received[0].subject.as_deref(),
        Some(format!("Build overdue: {project} running 30 min 0 s (expected <= 28 min)").as_str())
    );
    assert_eq!(received[0].attributes.get("kind").map(String::as_str), Some("running-overdue"));
    assert_eq!(received[0].attributes.get("status").map(String::as_str), Some("IN_PROGRESS"));

    let again = monitor.handle(&sweep).await.expect("sweep");
    assert_eq!(again.builds[0].outcome, Outcome::AlreadyNotified);
    assert!(topic.drain().await.is_empty());
}
