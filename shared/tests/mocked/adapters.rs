//! AWS adapters against the SDK's own mocks (aws-smithy-mocks): pagination, batching, and AWS
//! errors (throttling, missing permissions, conditional-write conflicts) that the emulator does
//! not produce on demand.

use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
use aws_sdk_codebuild::types::{CacheType, Project, ProjectCache};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use cache_sentinel::aws::Clients;
use cache_sentinel::aws::codebuild::CodeBuildProjects;
use cache_sentinel::aws::s3::{Markers, head_bucket};
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
    for (status, expected) in
        [(404u16, AwsErrorKind::NotFound), (403, AwsErrorKind::AccessDenied), (500, AwsErrorKind::Service)]
    {
        let rule = mock!(aws_sdk_s3::Client::head_bucket).sequence().http_status(status, None).times(5).build();
        let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&rule]);
        let got = head_bucket(&client, "b").await.expect_err("HeadBucket fails");
        assert_eq!(got.kind, expected, "HTTP {status}: {got:?}");
        assert_eq!(got.operation, "s3:HeadBucket");
    }
    let usable = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().bucket_region("ap-south-1").build()
    });
    let client = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&usable]);
    assert_eq!(head_bucket(&client, "b").await.expect("usable").as_deref(), Some("ap-south-1"));
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

/// A guard whose AWS answers are mocks: the project drifted to LOCAL, the bucket usable, the
/// service role allowed, markers created; `update` answers UpdateProject.
fn mocked_guard(
    update: &aws_smithy_mocks::Rule,
    publish: &aws_smithy_mocks::Rule,
    release: &aws_smithy_mocks::Rule,
) -> CacheGuard {
    let project = mock!(aws_sdk_codebuild::Client::batch_get_projects).then_output(|| {
        BatchGetProjectsOutput::builder()
            .projects(
                Project::builder()
                    .name("tts-service-build")
                    .service_role("arn:aws:iam::123456789012:role/service-role/codebuild-tts")
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
    let head = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().bucket_region("ap-south-1").build()
    });
    let claim = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    // The look before the heal: an empty location.
    let empty = mock!(aws_sdk_s3::Client::list_objects_v2)
        .then_output(|| aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output::builder().build());
    let allowed = mock!(aws_sdk_iam::Client::simulate_principal_policy).then_compute_output(|r| {
        let results = r.action_names().iter().map(|a| {
            aws_sdk_iam::types::EvaluationResult::builder()
                .eval_action_name(a)
                .eval_decision(aws_sdk_iam::types::PolicyEvaluationDecisionType::Allowed)
                .build()
                .unwrap()
        });
        aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput::builder()
            .set_evaluation_results(Some(results.collect()))
            .is_truncated(false)
            .build()
    });
    // SSE-S3, as every bucket's default since 2023: no KMS key to check.
    let encryption = mock!(aws_sdk_s3::Client::get_bucket_encryption).then_output(|| {
        use aws_sdk_s3::types::{
            ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
            ServerSideEncryptionRule,
        };
        let default =
            ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256).build().unwrap();
        let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build();
        aws_sdk_s3::operation::get_bucket_encryption::GetBucketEncryptionOutput::builder()
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap(),
            )
            .build()
    });
    let clients = Clients {
        sdk: aws_config::SdkConfig::builder().region(aws_config::Region::new("ap-south-1")).build(),
        codebuild: mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&project, update], |c| c
            .retry_config(cache_sentinel::aws::retry_config())
            .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
                aws_smithy_async::test_util::instant_time_and_sleep(std::time::SystemTime::now()).1
            ))),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &claim, &empty, &encryption, release]),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [publish]),
        attempts: Default::default(),
    };
    let config = GuardConfig::from_env(&[
        ("CACHE_BUCKET", "cache-bucket"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-south-1:123456789012:t"),
    ])
    .unwrap();
    CacheGuard::new(config, &clients).with_iam(mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&allowed]))
}

fn build_started() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../events/build-in-progress.json")).unwrap()
}

fn release_rule() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_s3::Client::delete_object)
        .then_output(|| aws_sdk_s3::operation::delete_object::DeleteObjectOutput::builder().build())
}

fn publish_rule() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_sns::Client::publish)
        .then_output(|| aws_sdk_sns::operation::publish::PublishOutput::builder().message_id("m1").build())
}

/// UpdateProject denied for good (an SCP, a permissions boundary): the project is refused and
/// reported, the heal claim given back, and the invocation succeeds (no retries, no DLQ).
#[tokio::test]
async fn guard_refuses_a_heal_aws_denies_for_good_and_the_invocation_succeeds() {
    let denied = mock!(aws_sdk_codebuild::Client::update_project).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform: codebuild:UpdateProject with an explicit deny in a service control policy"}"#,
            ),
        )
    });
    let (publish, release) = (publish_rule(), release_rule());
    let guard = mocked_guard(&denied, &publish, &release);
    let report = guard.handle(&build_started()).await.expect("a permanent error is a refusal");
    let p = &report.projects[0];
    assert_eq!(p.outcome, cache_sentinel::guard::service::Outcome::Refused, "{report:?}");
    assert!(
        p.reason.contains("codebuild:UpdateProject") && p.reason.contains("service control policy"),
        "{}",
        p.reason
    );
    assert_eq!(denied.num_calls(), 1, "not retried");
    assert_eq!(release.num_calls(), 1, "the heal claim is given back");
    assert_eq!(publish.num_calls(), 1, "one refusal notice");
}

/// UpdateProject throttled past the SDK's retries: the invocation fails (EventBridge retries it),
/// naming the project and the operation, and the claim is given back for the retry.
#[tokio::test]
async fn guard_fails_the_invocation_on_a_transient_error() {
    let throttled = mock!(aws_sdk_codebuild::Client::update_project)
        .sequence()
        .http_status(400, json_error("ThrottlingException", "Rate exceeded"))
        .times(10)
        .build();
    let (publish, release) = (publish_rule(), release_rule());
    let guard = mocked_guard(&throttled, &publish, &release);
    let err = guard.handle(&build_started()).await.expect_err("a transient error fails the invocation");
    assert_eq!(err.error_type(), "CacheGuard.ProjectsFailed");
    let text = err.to_string();
    assert!(
        text.contains("tts-service-build") && text.contains("codebuild:UpdateProject") && text.contains("throttled"),
        "{text}"
    );
    assert_eq!(throttled.num_calls(), 5, "the SDK retried first (5 attempts)");
    assert_eq!(release.num_calls(), 1, "the heal claim is given back for the retry");
}

/// A batch AWS refuses for good (one project outside the guard's permissions) is read again one
/// project at a time: only that project is refused, the sweep succeeds.
#[tokio::test]
async fn a_refused_batch_is_read_one_by_one_and_only_the_culprit_is_refused() {
    let list = mock!(aws_sdk_codebuild::Client::list_projects)
        .then_output(|| ListProjectsOutput::builder().projects("app-1").projects("app-2").projects("app-3").build());
    let denied = || {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"AccessDeniedException","message":"not authorized to perform: codebuild:BatchGetProjects on project/app-2"}"#,
            ),
        )
    };
    let refused = mock!(aws_sdk_codebuild::Client::batch_get_projects)
        .match_requests(|r| r.names().len() > 1 || r.names() == ["app-2"])
        .then_http_response(denied);
    let read = mock!(aws_sdk_codebuild::Client::batch_get_projects).then_compute_output(|r| {
        let name = r.names()[0].clone();
        let cache =
            ProjectCache::builder().r#type(CacheType::S3).location(format!("cache-bucket/{name}")).build().unwrap();
        BatchGetProjectsOutput::builder().projects(Project::builder().name(name).cache(cache).build()).build()
    });
    let head = mock!(aws_sdk_s3::Client::head_bucket).then_output(|| {
        aws_sdk_s3::operation::head_bucket::HeadBucketOutput::builder().bucket_region("ap-south-1").build()
    });
    let claim = mock!(aws_sdk_s3::Client::put_object)
        .then_output(|| aws_sdk_s3::operation::put_object::PutObjectOutput::builder().build());
    let publish = publish_rule();
    let clients = Clients {
        sdk: aws_config::SdkConfig::builder().region(aws_config::Region::new("ap-south-1")).build(),
        codebuild: mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&list, &refused, &read]),
        s3: mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head, &claim]),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]),
        attempts: Default::default(),
    };
    let config = GuardConfig::from_env(&[
        ("CACHE_BUCKET", "cache-bucket"),
        ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-south-1:123456789012:t"),
    ])
    .unwrap();
    let sweep: serde_json::Value = serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap();
    let report = CacheGuard::new(config, &clients).handle(&sweep).await.expect("the sweep succeeds");
    let outcomes: Vec<(&str, cache_sentinel::guard::service::Outcome)> =
        report.projects.iter().map(|p| (p.project.as_str(), p.outcome)).collect();
    use cache_sentinel::guard::service::Outcome::{Refused, Unchanged};
    assert_eq!(outcomes, vec![("app-2", Refused), ("app-1", Unchanged), ("app-3", Unchanged)]);
    assert!(report.projects[0].reason.contains("codebuild:BatchGetProjects"), "{}", report.projects[0].reason);
    assert_eq!(refused.num_calls(), 2, "the batch, then app-2 alone");
    assert_eq!(publish.num_calls(), 1, "one sweep notice");
}
