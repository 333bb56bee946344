//! AWS adapters against the SDK's own mocks (aws-smithy-mocks): pagination, batching, and AWS
//! errors (throttling, missing permissions, conditional-write conflicts) that the emulator does
//! not produce on demand.

use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
use aws_sdk_codebuild::types::{CacheType, Project, ProjectCache};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use cache_sentinel::aws::Clients;
use cache_sentinel::aws::codebuild::CodeBuildProjects;
use cache_sentinel::aws::s3::{BucketStatus, Markers, probe_bucket};
use cache_sentinel::aws::sns::SnsPublisher;
use cache_sentinel::error::AwsErrorKind;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::notify::{Notice, Severity};
use cache_sentinel::project::CacheSetting;

fn json_error(kind: &str, message: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{kind}","message":"{message}"}}"#))
}

#[tokio::test]
async fn list_names_follows_every_page() {
    let page1 = mock!(aws_sdk_codebuild::Client::list_projects)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| ListProjectsOutput::builder().projects("a").projects("b").next_token("t1").build());
    let page2 = mock!(aws_sdk_codebuild::Client::list_projects)
        .match_requests(|r| r.next_token() == Some("t1"))
        .then_output(|| ListProjectsOutput::builder().projects("c").build());
    let client = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&page1, &page2]);
    let names = CodeBuildProjects::new(client).list_names().await.expect("list");
    assert_eq!(names, vec!["a", "b", "c"]);
    assert_eq!(page1.num_calls(), 1);
    assert_eq!(page2.num_calls(), 1);
}

#[tokio::test]
async fn batch_get_projects_takes_at_most_100_names_per_call() {
    let batch = mock!(aws_sdk_codebuild::Client::batch_get_projects)
        .match_requests(|r| r.names().len() <= 100)
        .then_compute_output(|r| {
            let mut out = BatchGetProjectsOutput::builder();
            for name in r.names() {
                if name.starts_with("gone") {
                    out = out.projects_not_found(name);
                } else {
                    out = out.projects(Project::builder().name(name).build());
                }
            }
            out.build()
        });
    let client = mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&batch]);
    let mut names: Vec<String> = (0..250).map(|i| format!("p{i}")).collect();
    names.push("gone-1".into());
    let (found, missing) = CodeBuildProjects::new(client).get(&names).await.expect("get");
    assert_eq!(found.len(), 250);
    assert_eq!(missing, vec!["gone-1"]);
    assert_eq!(batch.num_calls(), 3);
}

#[tokio::test]
async fn throttling_is_retried_then_reported_with_the_operation() {
    let throttled = mock!(aws_sdk_codebuild::Client::update_project)
        .sequence()
        .http_status(400, json_error("ThrottlingException", "Rate exceeded"))
        .times(10)
        .build();
    let client = mock_client!(aws_sdk_codebuild, RuleMode::Sequential, [&throttled], |c| c
        .retry_config(cache_sentinel::aws::retry_config())
        // Backoff on a simulated clock: the test checks the attempts without waiting them out.
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
            aws_smithy_async::test_util::instant_time_and_sleep(std::time::SystemTime::now()).1
        )));
    let err = CodeBuildProjects::new(client).update_cache("p", &CacheSetting::s3("b/p")).await.expect_err("throttled");
    assert_eq!(err.kind, AwsErrorKind::Throttled, "{err}");
    assert_eq!(err.operation, "codebuild:UpdateProject");
    assert!(err.to_string().contains("Rate exceeded"), "{err}");
    // The production retry policy: 5 attempts in all, then the error is reported.
    assert_eq!(throttled.num_calls(), 5);
}

#[tokio::test]
async fn access_denied_names_the_operation_and_cause() {
    let denied = mock!(aws_sdk_codebuild::Client::update_project).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/guard is not authorized to perform: codebuild:UpdateProject"}"#,
            ),
        )
    });
    let client = mock_client!(aws_sdk_codebuild, RuleMode::Sequential, [&denied]);
    let err = CodeBuildProjects::new(client).update_cache("p", &CacheSetting::s3("b/p")).await.expect_err("denied");
    assert_eq!(err.kind, AwsErrorKind::AccessDenied);
    let text = err.to_string();
    assert!(text.contains("codebuild:UpdateProject") && text.contains("not authorized"), "{text}");
}

#[tokio::test]
async fn head_bucket_statuses() {
    for (status, expected) in [(404u16, "missing"), (403, "forbidden"), (500, "unreachable")] {
        let rule = mock!(aws_sdk_s3::Client::head_bucket).sequence().http_status(status, None).times(5).build();
        let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&rule]);
        let got = probe_bucket(&client, "b").await;
        let kind = match got {
            BucketStatus::Missing => "missing",
            BucketStatus::Forbidden { .. } => "forbidden",
            BucketStatus::Unreachable { .. } => "unreachable",
            BucketStatus::Usable { .. } => "usable",
        };
        assert_eq!(kind, expected, "HTTP {status}: {got:?}");
    }
}

#[tokio::test]
async fn marker_claim_is_false_when_the_object_exists() {
    let exists = mock!(aws_sdk_s3::Client::put_object).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(412).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>",
            ),
        )
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&exists]);
    let markers = Markers::new(client, "b", "notified");
    assert!(!markers.claim("build-1/slow", "{}").await.expect("claim"));
    assert_eq!(
        markers.key("arn:aws:codebuild:r:1:build/p:x"),
        ".cache-sentinel/notified/arn_aws_codebuild_r_1_build_p_x"
    );
}

#[tokio::test]
async fn sns_permission_error_is_typed() {
    let denied = mock!(aws_sdk_sns::Client::publish).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not authorized to perform: SNS:Publish</Message></Error></ErrorResponse>",
            ),
        )
    });
    let client = mock_client!(aws_sdk_sns, RuleMode::Sequential, [&denied]);
    let publisher = SnsPublisher::new(client, Some("arn:aws:sns:ap-south-1:123456789012:t".into()));
    let err = publisher.publish(&Notice::new("s", "b", Severity::Info)).await.expect_err("denied");
    assert_eq!(err.kind, AwsErrorKind::AccessDenied, "{err}");
    assert_eq!(err.operation, "sns:Publish");
}

/// The guard fails the invocation (so EventBridge retries and alarms fire) when UpdateProject is
/// denied, names the cause, and changes nothing else.
#[tokio::test]
async fn guard_reports_a_denied_heal_as_a_failed_invocation() {
    let project = mock!(aws_sdk_codebuild::Client::batch_get_projects).then_output(|| {
        BatchGetProjectsOutput::builder()
            .projects(
                Project::builder()
                    .name("tts-service-build")
                    .cache(
                        ProjectCache::builder()
                            .r#type(CacheType::Local)
                            .modes(aws_sdk_codebuild::types::CacheMode::LocalDockerLayerCache)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build()
    });
    let denied = mock!(aws_sdk_codebuild::Client::update_project).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform: codebuild:UpdateProject"}"#,
            ),
        )
    });
    let head = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().bucket_region("ap-south-1").build()
    });
    let publish = mock!(aws_sdk_sns::Client::publish)
        .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().message_id("m1").build());
    let clients = Clients {
        sdk: aws_config::SdkConfig::builder().region(aws_config::Region::new("ap-south-1")).build(),
        codebuild: mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&project, &denied]),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head]),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]),
        attempts: Default::default(),
    };
    let config = GuardConfig::from_env(&[
        ("CACHE_BUCKET", "cache-bucket"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-south-1:123456789012:t"),
    ])
    .unwrap();
    let guard = CacheGuard::new(config, &clients);
    let event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/build-in-progress.json")).unwrap();
    let err = guard.handle(&event).await.expect_err("denied heal fails the invocation");
    let text = err.to_string();
    assert!(
        text.contains("tts-service-build")
            && text.contains("codebuild:UpdateProject")
            && text.contains("access denied"),
        "{text}"
    );
    assert_eq!(denied.num_calls(), 1);
    assert_eq!(publish.num_calls(), 1, "one failure notice");
}
