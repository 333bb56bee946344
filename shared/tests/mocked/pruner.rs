//! cache-pruner against mocked AWS: what the emulator cannot show on demand. DeleteObjects answering
//! 200 with per-key `Errors`, or rejecting a batch as malformed; one location's listing denied while
//! the others are pruned; throttling that outlasts the SDK's retries; a state that cannot be saved;
//! keys S3 returns URL-encoded; GetBucketVersioning as AWS documents it.

use aws_sdk_codebuild::operation::batch_get_projects::BatchGetProjectsOutput;
use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
use aws_sdk_codebuild::types::{CacheType, Project, ProjectCache};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::operation::delete_object::DeleteObjectOutput;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_object::PutObjectOutput;
use aws_sdk_s3::types::error::NoSuchKey;
use aws_sdk_s3::types::{BucketVersioningStatus, EncodingType, Error as S3KeyError, Object};
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock, mock_client};
use cache_sentinel::aws::Clients;
use cache_sentinel::clock::FixedClock;
use cache_sentinel::pruner::calls::ApiCalls;
use cache_sentinel::pruner::delete::{KEY_ATTEMPTS, Target, delete_batch};
use cache_sentinel::pruner::scope::{LocationState, ManagedLocation, Scope};
use cache_sentinel::pruner::{CachePruner, Deletion, PruneError, PrunerConfig, Reason, RunLimits};
use chrono::{TimeZone, Utc};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const BUCKET: &str = "cache-bucket";

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
}

fn listed(key: &str, days_old: i64) -> Object {
    let t = now() - chrono::Duration::days(days_old);
    Object::builder()
        .key(key)
        .size(100)
        .last_modified(aws_smithy_types::DateTime::from_millis(t.timestamp_millis()))
        .build()
}

fn s3_client(rules: &[&Rule]) -> Client {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    Client::from_conf(
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("ap-south-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .http_client(create_mock_http_client())
            .retry_config(RetryConfig::disabled())
            .interceptor(interceptor)
            .build(),
    )
}

/// CodeBuild with these projects and their S3 cache locations.
fn codebuild(projects: &[(&str, &str)]) -> aws_sdk_codebuild::Client {
    let names: Vec<String> = projects.iter().map(|(n, _)| (*n).to_owned()).collect();
    let found: Vec<Project> = projects
        .iter()
        .map(|(name, location)| {
            let cache = ProjectCache::builder().r#type(CacheType::S3).location(*location).build().unwrap();
            Project::builder().name(*name).cache(cache).build()
        })
        .collect();
    let list = mock!(aws_sdk_codebuild::Client::list_projects)
        .then_output(move || ListProjectsOutput::builder().set_projects(Some(names.clone())).build());
    let get = mock!(aws_sdk_codebuild::Client::batch_get_projects)
        .then_output(move || BatchGetProjectsOutput::builder().set_projects(Some(found.clone())).build());
    mock_client!(aws_sdk_codebuild, RuleMode::MatchAny, [&list, &get])
}

/// The pruner's own objects: no state yet, the state and the lease written as asked; every
/// PutObject body of the state is kept for the test to read.
struct Own {
    rules: Vec<Rule>,
    saved: Arc<Mutex<Vec<serde_json::Value>>>,
}

fn own(state_put_fails: bool) -> Own {
    let saved = Arc::new(Mutex::new(Vec::new()));
    // No state yet, and no sweep waiting for the lease.
    let no_state = mock!(Client::get_object)
        .match_requests(|r| r.key().is_some_and(|k| k.ends_with("state.json") || k.ends_with("sweep-waiting.json")))
        .then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
    let lease = mock!(Client::put_object)
        .match_requests(|r| r.key().is_some_and(|k| k.ends_with("lease.json")))
        .then_output(|| PutObjectOutput::builder().e_tag("\"lease-1\"").build());
    let keep = saved.clone();
    let state = mock!(Client::put_object).match_requests(move |r| {
        if r.key().is_some_and(is_own_state)
            && let Some(bytes) = r.body().bytes()
        {
            keep.lock().unwrap().push(serde_json::from_slice(bytes).unwrap());
        }
        r.key().is_some_and(is_own_state)
    });
    let state = if state_put_fails {
        state.then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<Error><Code>AccessDenied</Code><Message>denied</Message></Error>",
                ),
            )
        })
    } else {
        state.then_output(|| PutObjectOutput::builder().build())
    };
    // What a run freed, recorded for the digest (pruner/freed.rs).
    let freed = mock!(Client::put_object)
        .match_requests(|r| r.key().is_some_and(|k| k.starts_with(".cache-sentinel/pruned/")))
        .then_output(|| PutObjectOutput::builder().build());
    let versioning = mock!(Client::get_bucket_versioning).then_output(|| GetBucketVersioningOutput::builder().build());
    // A bucket without a policy, as S3 answers it: 404 NoSuchBucketPolicy.
    let policy = mock!(Client::get_bucket_policy).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message></Error>",
            ),
        )
    });
    Own { rules: vec![no_state, lease, state, freed, policy, versioning], saved }
}

fn pruner(s3: Client, codebuild: aws_sdk_codebuild::Client, vars: &[(&str, &str)]) -> CachePruner {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("ap-south-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let clients = Clients { codebuild, sns: aws_sdk_sns::Client::new(&sdk), s3, sdk, attempts: Default::default() };
    let env: HashMap<String, String> = [("CACHE_BUCKET", BUCKET), ("PRUNE_KEEP_NEWEST", "1")]
        .iter()
        .chain(vars)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    CachePruner::new(PrunerConfig::from_env(&env).expect("config"), &clients).with_clock(Arc::new(FixedClock(now())))
}

fn succeeded() -> serde_json::Value {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["detail"]["project-name"] = json!("tts");
    event
}

fn sweep() -> serde_json::Value {
    json!({"source": "aws.events", "detail-type": "Scheduled Event", "account": "123456789012", "detail": {}})
}

/// The listing of `tts/`: three objects past the maximum age, one fresh.
fn tts_listing() -> Rule {
    mock!(Client::list_objects_v2).match_requests(|r| r.prefix() == Some("tts/")).then_output(|| {
        ListObjectsV2Output::builder()
            .contents(listed("tts/a", 90))
            .contents(listed("tts/b", 80))
            .contents(listed("tts/c", 70))
            .contents(listed("tts/d", 1))
            .is_truncated(false)
            .build()
    })
}

/// The bucket root with the delimiter: nothing else in the bucket.
fn empty_root() -> Rule {
    mock!(Client::list_objects_v2)
        .match_requests(|r| r.delimiter() == Some("/"))
        .then_output(|| ListObjectsV2Output::builder().is_truncated(false).build())
}

fn key_error(key: &str, code: &str) -> S3KeyError {
    S3KeyError::builder().key(key).code(code).message(format!("{code} for {key}")).build()
}

fn with(own: &Own, rules: &[&Rule]) -> Client {
    let all: Vec<&Rule> = own.rules.iter().chain(rules.iter().copied()).collect();
    s3_client(&all)
}

#[tokio::test]
async fn per_key_errors_are_retried_then_counted_as_deleted() {
    let own = own(false);
    let list = tts_listing();
    // First answer: 200 with b in Errors; the retry carries only b and succeeds.
    let delete = mock!(Client::delete_objects)
        .sequence()
        .output(|| DeleteObjectsOutput::builder().errors(key_error("tts/b", "InternalError")).build())
        .output(|| DeleteObjectsOutput::builder().build())
        .build();
    let p = pruner(with(&own, &[&list, &delete]), codebuild(&[("tts", "cache-bucket/tts")]), &[]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!((report.plan.planned, report.outcome.deleted, report.outcome.failed), (3, 3, 0), "{report:#?}");
    assert_eq!(delete.num_calls(), 2);
    assert_eq!(report.api_calls.get("s3:DeleteObjects"), Some(&2));
    assert!(report.finished);
    assert!(own.saved.lock().unwrap().is_empty(), "a build-event run never writes the state");
}

#[tokio::test]
async fn keys_that_keep_failing_are_reported_never_dropped() {
    let own = own(false);
    let list = tts_listing();
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
    let p = pruner(with(&own, &[&list, &delete]), codebuild(&[("tts", "cache-bucket/tts")]), &[]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!((report.plan.planned, report.outcome.deleted, report.outcome.failed), (3, 1, 2), "{report:#?}");
    let mut errors: Vec<_> = report.errors.iter().map(|e| (e.key.as_str(), e.code.as_str(), e.attempts)).collect();
    errors.sort();
    assert_eq!(errors, vec![("tts/a", "AccessDenied", 1), ("tts/c", "SlowDown", KEY_ATTEMPTS)]);
    assert_eq!(report.locations["cache-bucket/tts"].outcome.failed, 2);
    assert_eq!(delete.num_calls(), KEY_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_batch_rejected_as_malformed_is_deleted_one_by_one() {
    let own = own(false);
    let list = tts_listing();
    let malformed = mock!(Client::delete_objects).then_http_response(|| {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap(),
            aws_smithy_types::body::SdkBody::from(
                "<Error><Code>MalformedXML</Code><Message>The XML you provided was not well-formed</Message></Error>",
            ),
        )
    });
    let single = mock!(Client::delete_object).then_output(|| DeleteObjectOutput::builder().build());
    let p = pruner(with(&own, &[&list, &malformed, &single]), codebuild(&[("tts", "cache-bucket/tts")]), &[]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!((report.outcome.deleted, report.outcome.failed), (3, 0), "{report:#?}");
    assert_eq!((malformed.num_calls(), single.num_calls()), (1, 3), "one rejected batch, then one call per key");
    let mut singles = report.deleted_one_by_one.clone();
    singles.sort();
    assert_eq!(singles, vec!["tts/a", "tts/b", "tts/c"]);
    assert!(report.notes.iter().any(|n| n.contains("one by one")), "{:?}", report.notes);
}

#[tokio::test]
async fn the_delete_call_refuses_keys_outside_the_managed_locations() {
    let delete = mock!(Client::delete_objects)
        .match_requests(|r| r.delete().is_some_and(|d| d.objects().iter().all(|o| o.key() == "cache/tts/a")))
        .then_output(|| DeleteObjectsOutput::builder().build());
    let s3 = s3_client(&[&delete]);
    let live = ManagedLocation {
        prefix: "cache/tts".into(),
        state: LocationState::Live,
        projects: vec![],
        namespaces: vec![],
        born: None,
    };
    let target = Target {
        s3,
        bucket: BUCKET.into(),
        scope: Arc::new(Scope::new(vec![live], vec![])),
        calls: Arc::new(ApiCalls::default()),
        progress: None,
        lease_loss: Default::default(),
    };
    let deletion = |key: &str| Deletion {
        key: key.into(),
        location: "cache/tts".into(),
        size: 1,
        last_modified_ms: 0,
        reason: Reason::MaxAge,
    };
    let batch = vec![
        deletion("cache/tts/a"),
        deletion("cache/tts-api/a"),
        deletion("other/tts/a"),
        deletion(".cache-sentinel/pruner/state.json"),
        deletion("loose"),
    ];
    let result = delete_batch(target, batch).await;
    assert_eq!(result.deleted, vec![("cache/tts".to_owned(), 1)]);
    let refused: Vec<_> = result.failed.iter().map(|(_, e)| (e.key.as_str(), e.code.as_str())).collect();
    assert_eq!(
        refused,
        vec![
            ("cache/tts-api/a", "Refused"),
            ("other/tts/a", "Refused"),
            (".cache-sentinel/pruner/state.json", "Refused"),
            ("loose", "Refused")
        ]
    );
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn one_location_denied_is_its_refusal_and_the_others_are_pruned() {
    let own = own(false);
    let tts = tts_listing();
    let denied =
        mock!(Client::list_objects_v2).match_requests(|r| r.prefix() == Some("locked/")).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<Error><Code>AccessDenied</Code><Message>explicit deny in an SCP</Message></Error>",
                ),
            )
        });
    let root = empty_root();
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(
        with(&own, &[&tts, &denied, &root, &delete]),
        codebuild(&[("tts", "cache-bucket/tts"), ("locked", "cache-bucket/locked")]),
        &[],
    );
    let report = p.handle(&sweep(), RunLimits::default()).await.expect("a permanent error is a refusal, not a failure");
    assert_eq!(report.outcome.deleted, 3, "{report:#?}");
    let locked = &report.locations["cache-bucket/locked"];
    assert!(locked.refused.as_deref().is_some_and(|r| r.contains("explicit deny")), "{locked:?}");
    assert!(report.finished, "refused for this sweep; the next sweep tries again");
    let saved = own.saved.lock().unwrap();
    assert!(saved.last().is_some_and(|s| s["sweep"].is_null()), "{saved:?}");
}

#[tokio::test]
async fn throttling_past_the_retries_fails_the_invocation_after_the_state_is_saved() {
    let own = own(false);
    let tts = tts_listing();
    let throttled =
        mock!(Client::list_objects_v2).match_requests(|r| r.prefix() == Some("busy/")).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(503).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
                ),
            )
        });
    let root = empty_root();
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(
        with(&own, &[&tts, &throttled, &root, &delete]),
        codebuild(&[("tts", "cache-bucket/tts"), ("busy", "cache-bucket/busy")]),
        &[],
    );
    let err = p.handle(&sweep(), RunLimits::default()).await.expect_err("transient");
    assert!(matches!(&err, PruneError::Transient { failed: 1, .. }), "{err}");
    assert_eq!(err.error_type(), "CachePruner.TransientFailure");
    assert!(err.to_string().contains("SlowDown"), "{err}");
    // The state was saved first: tts done, busy still to do.
    let saved = own.saved.lock().unwrap();
    let sweep = &saved.last().expect("state saved")["sweep"];
    assert_eq!(sweep["done"], json!(["tts"]), "{sweep}");
    assert!(sweep["partial"].get("busy").is_none());
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn an_unfinished_sweep_whose_state_cannot_be_saved_is_an_error() {
    let own = own(true);
    let tts = tts_listing();
    let root = empty_root();
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(with(&own, &[&tts, &root, &delete]), codebuild(&[("tts", "cache-bucket/tts")]), &[]);
    let limits = RunLimits { max_pages: Some(1), ..RunLimits::default() };
    let err = p.handle(&sweep(), limits).await.expect_err("state not saved");
    assert!(matches!(err, PruneError::StateNotSaved { finished: false, .. }), "{err}");
    assert_eq!(err.error_type(), "CachePruner.StateNotSaved");
}

#[tokio::test]
async fn keys_s3_returns_url_encoded_are_decoded_before_anything_else() {
    let own = own(false);
    let encoded = mock!(Client::list_objects_v2)
        .match_requests(|r| r.prefix() == Some("tts/") && r.encoding_type() == Some(&EncodingType::Url))
        .then_output(|| {
            ListObjectsV2Output::builder()
                .encoding_type(EncodingType::Url)
                .contents(listed("tts/old+file%20%2B%01", 90))
                .contents(listed("tts/caf%C3%A9", 1))
                .is_truncated(false)
                .build()
        });
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let single = mock!(Client::delete_object)
        .match_requests(|r| r.key() == Some("tts/old file +\u{1}"))
        .then_output(|| DeleteObjectOutput::builder().build());
    let p = pruner(with(&own, &[&encoded, &delete, &single]), codebuild(&[("tts", "cache-bucket/tts")]), &[]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!(report.outcome.deleted, 1, "{report:#?}");
    assert_eq!(report.deletions[0].key, "tts/old file +\u{1}");
    // XML cannot carry \u{1}: deleted one by one, never in a DeleteObjects body.
    assert_eq!((delete.num_calls(), single.num_calls()), (0, 1));
}

#[tokio::test]
async fn a_versioned_bucket_is_reported_with_the_lifecycle_backstop() {
    let mut own = own(false);
    own.rules.pop(); // the bucket's versioning, as AWS documents it:
    let versioning = mock!(Client::get_bucket_versioning)
        .then_output(|| GetBucketVersioningOutput::builder().status(BucketVersioningStatus::Enabled).build());
    let root = empty_root();
    let p = pruner(with(&own, &[&versioning, &root]), codebuild(&[]), &[]);
    let report = p.handle(&sweep(), RunLimits::default()).await.expect("report");
    assert_eq!(report.versioning.as_deref(), Some("Enabled"));
    assert!(report.notes.iter().any(|n| n.contains("NoncurrentVersionExpiration")), "{:?}", report.notes);
    assert!(report.finished);
    assert_eq!(report.api_calls.get("s3:GetBucketVersioning"), Some(&1));
    assert_eq!(report.api_calls.get("s3:GetBucketPolicy"), Some(&1));
    assert!(!report.notes.iter().any(|n| n.contains("bucket policy")), "no policy, no note: {:?}", report.notes);
}

#[tokio::test]
async fn other_build_statuses_are_ignored_without_any_call() {
    let list = tts_listing();
    let p = pruner(s3_client(&[&list]), codebuild(&[]), &[]);
    let mut event = succeeded();
    event["detail"]["build-status"] = json!("FAILED");
    let report = p.handle(&event, RunLimits::default()).await.expect("ignored is not an error");
    assert!(report.ignored.as_deref().is_some_and(|s| s.contains("FAILED")), "{report:?}");
    assert_eq!(list.num_calls(), 0);
    assert!(report.api_calls.is_empty());
}

#[tokio::test]
async fn a_dry_run_writes_nothing_at_all() {
    let own = own(false);
    let list = tts_listing();
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(with(&own, &[&list, &delete]), codebuild(&[("tts", "cache-bucket/tts")]), &[("DRY_RUN", "true")]);
    let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
    assert_eq!((report.plan.planned, report.outcome.deleted), (3, 0));
    assert_eq!(delete.num_calls(), 0);
    assert_eq!(own.rules[1].num_calls(), 0, "no lease taken in a dry run");
    let reasons: Vec<_> = report.deletions.iter().map(|d| (d.key.as_str(), d.reason)).collect();
    assert_eq!(reasons, vec![("tts/a", Reason::MaxAge), ("tts/b", Reason::MaxAge), ("tts/c", Reason::MaxAge)]);
}

/// S3 may answer a ListObjectsV2 request with no keys and `IsTruncated=true`: here the request
/// that jumps over the location inside `tts/` (`tts/inner`, listed by its own walk).
#[tokio::test]
async fn an_empty_truncated_page_after_jumping_over_a_location_is_followed_to_the_end() {
    let own = own(false);
    let fresh = |r: &aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Input| {
        r.prefix() == Some("tts/") && r.continuation_token().is_none()
    };
    let first = mock!(Client::list_objects_v2)
        .match_requests(move |r| fresh(r) && r.start_after().is_none())
        .then_output(|| {
            ListObjectsV2Output::builder()
                .contents(listed("tts/a", 90))
                .contents(listed("tts/inner/x", 90))
                .is_truncated(true)
                .next_continuation_token("t0")
                .build()
        });
    let jump = mock!(Client::list_objects_v2)
        .match_requests(move |r| fresh(r) && r.start_after().is_some_and(|a| a.starts_with("tts/inner/")))
        .then_output(|| {
            ListObjectsV2Output::builder().key_count(0).is_truncated(true).next_continuation_token("t1").build()
        });
    let rest = mock!(Client::list_objects_v2)
        .match_requests(|r| r.prefix() == Some("tts/") && r.continuation_token() == Some("t1"))
        .then_output(|| {
            ListObjectsV2Output::builder()
                .contents(listed("tts/z", 80))
                .contents(listed("tts/zz", 1))
                .is_truncated(false)
                .build()
        });
    let inner = mock!(Client::list_objects_v2).match_requests(|r| r.prefix() == Some("tts/inner/")).then_output(|| {
        ListObjectsV2Output::builder()
            .contents(listed("tts/inner/x", 90))
            .contents(listed("tts/inner/y", 1))
            .is_truncated(false)
            .build()
    });
    let root = empty_root();
    let deleted = Arc::new(Mutex::new(Vec::new()));
    let seen = deleted.clone();
    let delete = mock!(Client::delete_objects)
        .match_requests(move |r| {
            let keys = r.delete().map(|d| d.objects().iter().map(|o| o.key().to_owned()).collect::<Vec<_>>());
            seen.lock().unwrap().extend(keys.unwrap_or_default());
            true
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(
        with(&own, &[&first, &jump, &rest, &inner, &root, &delete]),
        codebuild(&[("tts", "cache-bucket/tts"), ("inner", "cache-bucket/tts/inner")]),
        &[],
    );
    let event = sweep();
    let run = p.handle(&event, RunLimits::default());
    let report = tokio::time::timeout(std::time::Duration::from_secs(30), run)
        .await
        .expect("the listing ends (it once asked for the same page forever)")
        .expect("report");
    assert!(report.finished, "{report:#?}");
    let mut deleted = deleted.lock().unwrap().clone();
    deleted.sort();
    assert_eq!(deleted, vec!["tts/a", "tts/inner/x", "tts/z"], "the keys after the empty page were pruned too");
    assert_eq!((jump.num_calls(), rest.num_calls()), (1, 1), "the empty page was asked for once, its token followed");
}

/// A page that says it is truncated but carries no token: taking it for the last page would end
/// the listing early without a word; the run fails (transient) and is retried.
#[tokio::test]
async fn a_truncated_page_without_a_token_fails_the_run_instead_of_ending_the_listing() {
    let own = own(false);
    let broken = mock!(Client::list_objects_v2)
        .match_requests(|r| r.prefix() == Some("tts/"))
        .then_output(|| ListObjectsV2Output::builder().contents(listed("tts/a", 90)).is_truncated(true).build());
    let root = empty_root();
    let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
    let p = pruner(with(&own, &[&broken, &root, &delete]), codebuild(&[("tts", "cache-bucket/tts")]), &[]);
    let err = p.handle(&sweep(), RunLimits::default()).await.expect_err("transient");
    assert!(matches!(&err, PruneError::Transient { failed: 1, .. }), "{err}");
    assert!(err.to_string().contains("TruncatedWithoutToken"), "{err}");
}

/// This deployment's state (`.cache-sentinel/pruner/<account>/<region>/state.json`), not the
/// shared file of earlier versions.
fn is_own_state(key: &str) -> bool {
    key.starts_with(".cache-sentinel/pruner/") && key.ends_with("/state.json") && key.matches('/').count() == 4
}
