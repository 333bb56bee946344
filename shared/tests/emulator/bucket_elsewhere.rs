//! A cache bucket in another region than the project, as S3 answers for it (the harness's 301,
//! `s3_regions.rs`): the guard refuses the heal naming the bucket's region, the pruner reports the
//! bucket refused, the monitor's email says the cache cannot work and why; none of them fails the
//! invocation for it (a retry would get the same answer). Throttling on top is still an error that
//! fails the invocation, so that Lambda retries it.

use crate::guard_support::{self, build_event, cache_of, setup, sweep_event};
use crate::monitor_evidence::{final_event, monitor};
use crate::pruner::{self, listing, seed};
use cache_sentinel::error::{AwsError, AwsErrorKind};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome as GuardOutcome;
use cache_sentinel::monitor::Outcome;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use serde_json::json;

const FAR: &str = "eu-west-1";

/// A bucket created in eu-west-1, with `keys` in it.
async fn far_bucket(keys: &[&str]) -> String {
    let far = testing::emulator_clients_in(FAR).await;
    let bucket = testing::unique("far-cache");
    testing::create_bucket(&far, &bucket).await;
    seed(&far, &bucket, keys.iter().map(|k| (*k).to_owned()).collect()).await;
    bucket
}

#[tokio::test]
async fn the_sdk_error_names_the_buckets_region_and_is_permanent() {
    let bucket = far_bucket(&[]).await;
    let clients = testing::emulator_clients().await;
    let err = clients.s3.head_bucket().bucket(&bucket).send().await.expect_err("301");
    let err = AwsError::from_sdk("s3:HeadBucket", err);
    assert_eq!((err.kind, err.bucket_region.as_deref()), (AwsErrorKind::WrongRegion, Some(FAR)), "{err}");
    assert!(!err.is_transient());
    assert!(err.to_string().contains("the bucket is in eu-west-1"), "{err}");
    let err = clients.s3.list_objects_v2().bucket(&bucket).send().await.expect_err("301");
    let err = AwsError::from_sdk("s3:ListObjectsV2", err);
    assert_eq!((err.kind, err.code.as_str()), (AwsErrorKind::WrongRegion, "PermanentRedirect"), "{err}");
    assert_eq!(err.other_region(), Some(Some(FAR)));
}

#[tokio::test]
async fn the_guard_refuses_a_heal_to_a_bucket_in_another_region_naming_it() {
    let (s, role) = setup().await;
    let bucket = far_bucket(&[]).await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let vars =
        [("CACHE_BUCKET", bucket.as_str()), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn), ("PROJECT_INCLUDE", &name)];
    let guard = CacheGuard::new(guard_support::config(&vars), &s.clients);

    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("a refusal, not an error to retry");
    let outcome = &report.projects[0];
    assert_eq!(outcome.outcome, GuardOutcome::Refused, "{report:?}");
    let expected = format!("cache bucket {bucket} is in {FAR} but the project is in {}", testing::region());
    assert!(outcome.reason.contains(&expected), "{}", outcome.reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));

    // The sweep emails it, naming both regions.
    let sweep = guard.handle(&sweep_event()).await.expect("sweep");
    assert_eq!(sweep.count(GuardOutcome::Refused), 1, "{sweep:?}");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].message.contains(&expected), "{}", received[0].message);

    // Throttling on top is still transient: the invocation fails, so Lambda retries it.
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 1).operation_rate("s3:HeadBucket", 1.0));
    let throttled = CacheGuard::new(guard_support::config(&vars), &proxy.clients().await);
    let err = throttled.handle(&build_event(&name, "IN_PROGRESS")).await.expect_err("throttled: retried");
    assert!(err.to_string().contains("s3:HeadBucket"), "{err}");
}

#[tokio::test]
async fn the_pruner_reports_a_bucket_in_another_region_refused_and_deletes_nothing() {
    let s = Sandbox::new().await;
    let bucket = far_bucket(&["tts/old-1", "tts/old-2"]).await;
    let _project = pruner::project_at(&s.clients, "tts", &bucket, "tts").await;
    let vars =
        [("CACHE_BUCKET", bucket.as_str()), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn), ("PRUNE_MAX_AGE_DAYS", "1")];
    let pruner = pruner::pruner(&s.clients, &vars, 30);

    let report = pruner.handle(&pruner::sweep_event(), RunLimits::default()).await.expect("a refusal, not a retry");
    let why = report.bucket_refused.as_deref().expect("the bucket refused");
    assert!(why.contains(&format!("{bucket} is in {FAR}, and this pruner runs in {}", testing::region())), "{why}");
    assert_eq!(report.outcome.deleted, 0);
    let far = testing::emulator_clients_in(FAR).await;
    assert_eq!(listing(&far, &bucket).await.len(), 2, "nothing deleted");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].subject.as_deref().unwrap().contains("in another region"), "{:?}", received[0].subject);
    assert!(received[0].message.contains(FAR), "{}", received[0].message);

    // A dry run says the same.
    let dry = pruner::pruner(&s.clients, &[("CACHE_BUCKET", bucket.as_str()), ("DRY_RUN", "true")], 30);
    let report = dry.handle(&pruner::sweep_event(), RunLimits::default()).await.expect("dry run");
    assert!(report.bucket_refused.is_some(), "{report:?}");

    // Throttled lease writes fail the invocation (a retry may succeed).
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 1).operation_rate("s3:PutObject", 1.0));
    let throttled = pruner::pruner(&proxy.clients().await, &[("CACHE_BUCKET", s.bucket.as_str())], 30);
    let err = throttled.handle(&pruner::sweep_event(), RunLimits::default()).await.expect_err("throttled");
    assert!(err.to_string().contains("s3:PutObject"), "{err}");
}

#[tokio::test]
async fn the_monitor_says_the_cache_cannot_work_when_its_bucket_is_in_another_region() {
    let s = Sandbox::new().await;
    let bucket = far_bucket(&[]).await;
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let uuid = testing::unique("b");
    let mut event = final_event(&s, &project, &uuid, "SUCCEEDED", 33, 40);
    event["detail"]["additional-information"]["cache"] =
        json!({"type": "S3", "location": format!("{bucket}/{project}")});

    let report = monitor(&s, &[]).handle(&event).await.expect("not an error to retry");
    let b = &report.builds[0];
    assert_eq!(b.outcome, Outcome::Notified, "{report:?}");
    let elsewhere = b.evidence.as_ref().and_then(|e| e.elsewhere.as_ref()).expect("named in the evidence");
    assert_eq!(elsewhere.region.as_deref(), Some(FAR));
    assert!(b.warnings.iter().any(|w| w.contains(&format!("is in {FAR}"))), "{:?}", b.warnings);
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].message;
    let expected = format!(
        "The cache cannot work: the cache bucket {bucket} is in {FAR}, but the project is in {}",
        testing::region()
    );
    assert!(body.contains(&expected), "{body}");

    // Throttled listings fail the invocation instead.
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 1).operation_rate("s3:ListObjectsV2", 1.0));
    let sandbox = Sandbox { clients: proxy.clients().await, bucket: s.bucket.clone(), topic: s.topic };
    let mut again = final_event(&sandbox, &project, &testing::unique("b"), "SUCCEEDED", 33, 40);
    again["detail"]["additional-information"]["cache"] =
        json!({"type": "S3", "location": format!("{bucket}/{project}")});
    let err = monitor(&sandbox, &[]).handle(&again).await.expect_err("throttled");
    assert!(err.to_string().contains("s3:ListObjectsV2"), "{err}");
}
