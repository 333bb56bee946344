//! cache-pruner against mocked S3: DeleteObjects answers 200 with per-key `Errors` (documented S3
//! behaviour the emulator never shows), versioned buckets as AWS documents GetBucketVersioning, and
//! calls that must not be made.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::{DeletedObject, Error as S3KeyError, Object};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use cache_sentinel::aws::Clients;
use cache_sentinel::clock::FixedClock;
use cache_sentinel::config::CommonConfig;
use cache_sentinel::filter::ProjectFilter;
use cache_sentinel::pruner::calls::ApiCalls;
use cache_sentinel::pruner::delete::{KEY_ATTEMPTS, delete_batch};
use cache_sentinel::pruner::{CachePruner, Deletion, PrunePolicy, PrunerConfig, Reason, RunLimits};
use chrono::{TimeZone, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

fn listed(key: &str, days_old: i64) -> Object {
    let t = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap() - chrono::Duration::days(days_old);
    Object::builder()
        .key(key)
        .size(100)
        .last_modified(aws_smithy_types::DateTime::from_millis(t.timestamp_millis()))
        .build()
}

fn pruner(rules: &[&Rule], vars: &[(&str, &str)]) -> (Client, CachePruner) {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let s3 = Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("ap-south-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    );
    // CodeBuild and SNS are never called in these tests (a build event, no topic): unreachable.
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-south-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let clients = Clients {
        codebuild: aws_sdk_codebuild::Client::new(&sdk),
        sns: aws_sdk_sns::Client::new(&sdk),
        s3: s3.clone(),
        sdk,
    };
    let env: HashMap<String, String> = [("CACHE_BUCKET", "cache-bucket"), ("PRUNE_KEEP_NEWEST", "1")]
        .iter()
        .chain(vars)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let config = PrunerConfig::from_env(&env).expect("config");
    assert!(CommonConfig::from_env(&env).is_ok());
    let pruner = CachePruner::new(config, &clients)
        .with_clock(Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap())));
    (s3, pruner)
}

fn succeeded() -> serde_json::Value {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["detail"]["project-name"] = json!("tts");
    event
}

fn listing() -> Rule {
    mock!(Client::list_objects_v2).match_requests(|r| r.prefix() == Some("tts/")).then_output(|| {
        ListObjectsV2Output::builder()
            .contents(listed("tts/a", 90))
            .contents(listed("tts/b", 80))
            .contents(listed("tts/c", 70))
            .contents(listed("tts/d", 1))
            .is_truncated(false)
            .key_count(4)
            .build()
    })
}

fn key_error(key: &str, code: &str) -> S3KeyError {
    S3KeyError::builder().key(key).code(code).message(format!("{code} for {key}")).build()
}

#[tokio::test]
async fn per_key_errors_are_retried_then_counted_as_deleted() {
    let list = listing();
    // First answer: 200 with b in Errors; the retry carries only b and succeeds.
    let delete = mock!(Client::delete_objects)
        .sequence()
        .output(|| DeleteObjectsOutput::builder().errors(key_error("tts/b", "InternalError")).build())
        .output(|| DeleteObjectsOutput::builder().build())
        .build();
    let retry_only_b = mock!(Client::delete_objects).then_output(|| {
        DeleteObjectsOutput::builder().deleted(DeletedObject::builder().key("unexpected").build()).build()
    });
    let (_, p) = pruner(&[&list, &delete, &retry_only_b], &[]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!(report.plan.planned, 3, "{report:#?}");
    assert_eq!(report.outcome.deleted, 3, "{report:#?}");
    assert_eq!(report.outcome.failed, 0);
    assert_eq!(delete.num_calls(), 2);
    assert_eq!(retry_only_b.num_calls(), 0);
    assert_eq!(report.api_calls.get("s3:DeleteObjects"), Some(&2));
    assert!(report.finished);
}

#[tokio::test]
async fn keys_that_keep_failing_are_reported_never_dropped() {
    let list = listing();
    let delete = mock!(Client::delete_objects)
        .match_requests(|r| r.delete().is_some_and(|d| d.quiet() == Some(true)))
        .sequence()
        .output(|| {
            DeleteObjectsOutput::builder()
                .errors(key_error("tts/a", "AccessDenied"))
                .errors(key_error("tts/c", "SlowDown"))
                .build()
        })
        .output(|| DeleteObjectsOutput::builder().errors(key_error("tts/c", "SlowDown")).build())
        .times(KEY_ATTEMPTS as usize - 1)
        .build();
    let (_, p) = pruner(&[&list, &delete], &[]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!((report.plan.planned, report.outcome.deleted, report.outcome.failed), (3, 1, 2), "{report:#?}");
    let mut errors: Vec<_> = report.errors.iter().map(|e| (e.key.as_str(), e.code.as_str(), e.attempts)).collect();
    errors.sort();
    assert_eq!(errors, vec![("tts/a", "AccessDenied", 1), ("tts/c", "SlowDown", KEY_ATTEMPTS)]);
    assert_eq!(report.outcomes["tts"].failed, 2);
    assert_eq!(report.outcomes["tts"].deleted, 1);
    assert_eq!(delete.num_calls(), KEY_ATTEMPTS as usize);
}

#[tokio::test]
async fn the_delete_call_refuses_keys_outside_the_root_or_reserved() {
    let delete = mock!(Client::delete_objects)
        .match_requests(|r| r.delete().is_some_and(|d| d.objects().iter().all(|o| o.key() == "cache/tts/a")))
        .then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(&[&delete], &[("CACHE_KEY_PREFIX", "cache")]);
    let policy = PrunePolicy {
        root: "cache/".into(),
        per_project: true,
        keep_newest: 1,
        max_age: chrono::Duration::days(30),
        min_age: chrono::Duration::hours(24),
        orphan_grace: chrono::Duration::days(7),
        project_budget: None,
        total_budget: None,
        max_deletes: 100,
        projects: ProjectFilter::default(),
    };
    let deletion = |key: &str| Deletion {
        key: key.into(),
        project: "tts".into(),
        size: 1,
        last_modified_ms: 0,
        reason: Reason::MaxAge,
    };
    let batch = vec![
        deletion("cache/tts/a"),
        deletion("other/tts/a"),
        deletion(".cache-sentinel/pruner/state.json"),
        deletion("cache/"),
    ];
    let result = delete_batch(p.0.clone(), "cache-bucket".into(), policy, batch, Arc::new(ApiCalls::default())).await;
    assert_eq!(result.deleted, vec![("tts".to_owned(), 1)]);
    let refused: Vec<_> = result.failed.iter().map(|(_, e)| (e.key.as_str(), e.code.as_str())).collect();
    assert_eq!(
        refused,
        vec![("other/tts/a", "Refused"), (".cache-sentinel/pruner/state.json", "Refused"), ("cache/", "Refused")]
    );
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_versioned_bucket_is_reported_with_the_lifecycle_backstop() {
    // moto 5.2.1 answers GetBucketVersioning with a non-standard root element the SDK rejects,
    // so this follows the documented response instead.
    use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_s3::types::BucketVersioningStatus;
    use aws_sdk_s3::types::error::NoSuchKey;
    let state = mock!(Client::get_object).then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let versioning = mock!(Client::get_bucket_versioning)
        .then_output(|| GetBucketVersioningOutput::builder().status(BucketVersioningStatus::Enabled).build());
    let list = mock!(Client::list_objects_v2)
        .then_output(|| ListObjectsV2Output::builder().is_truncated(false).key_count(0).build());
    let (_, p) = pruner(&[&state, &versioning, &list], &[]);
    let event =
        json!({"source": "aws.events", "detail-type": "Scheduled Event", "account": "123456789012", "detail": {}});
    let report = p.handle(&event, RunLimits::default()).await.expect("report");
    assert_eq!(report.versioning.as_deref(), Some("Enabled"));
    assert!(report.notes.iter().any(|n| n.contains("NoncurrentVersionExpiration")), "{:?}", report.notes);
    assert!(report.finished);
    // The delimiter listing to find projects, then the listing itself.
    assert_eq!(list.num_calls(), 2);
    assert_eq!(report.api_calls.get("s3:GetBucketVersioning"), Some(&1));
}

#[tokio::test]
async fn other_build_statuses_are_ignored_without_any_call() {
    let list = listing();
    let (_, p) = pruner(&[&list], &[]);
    let mut event = succeeded();
    event["detail"]["build-status"] = json!("FAILED");
    let report = p.handle(&event, RunLimits::default()).await.expect("ignored is not an error");
    assert!(report.ignored.as_deref().is_some_and(|s| s.contains("FAILED")), "{report:?}");
    assert_eq!(list.num_calls(), 0);
    assert!(report.api_calls.is_empty());
}

#[tokio::test]
async fn dry_run_sends_no_delete() {
    let list = listing();
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let (_, p) = pruner(&[&list, &delete], &[("DRY_RUN", "true")]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!((report.plan.planned, report.outcome.deleted), (3, 0));
    assert_eq!(delete.num_calls(), 0);
    let reasons: Vec<_> = report.deletions.iter().map(|d| (d.key.as_str(), d.reason)).collect();
    assert_eq!(reasons, vec![("tts/a", Reason::MaxAge), ("tts/b", Reason::MaxAge), ("tts/c", Reason::MaxAge)]);
}
