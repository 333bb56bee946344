//! The fault-injecting proxy (`scripts/faults/proxy.py`) itself: each service's error arrives in its
//! own wire format and the SDK reads AWS's error code from it; the seed decides the pattern; faulted
//! requests never reach the emulator; latency is added. The attempts counter of `aws::Clients` is
//! checked against the proxy's own counts.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use cache_sentinel::aws::Clients;
use cache_sentinel::error::{AwsError, AwsErrorKind};
use cache_sentinel::testing;
use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Clients through the proxy that make a single attempt per call (no retries), to see each fault.
async fn single_attempt_clients(proxy: &FaultProxy) -> Clients {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&proxy.endpoint)
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Clients::from_sdk_config(sdk)
}

#[tokio::test]
async fn each_service_gets_awss_throttling_error_in_its_own_wire_format() {
    let direct = testing::emulator_clients().await;
    let bucket = testing::unique("faults");
    testing::create_bucket(&direct, &bucket).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(1.0, 7));
    let clients = single_attempt_clients(&proxy).await;

    // CodeBuild, AWS JSON 1.1: 400 ThrottlingException.
    let err = clients.codebuild.list_projects().send().await.expect_err("faulted");
    let err = AwsError::from_sdk("codebuild:ListProjects", err);
    assert_eq!((err.code.as_str(), err.kind), ("ThrottlingException", AwsErrorKind::Throttled), "{err}");

    // SNS, AWS query: 400 Throttling in an ErrorResponse document.
    let err = clients.sns.list_topics().send().await.expect_err("faulted");
    let err = AwsError::from_sdk("sns:ListTopics", err);
    assert_eq!((err.code.as_str(), err.kind), ("Throttling", AwsErrorKind::Throttled), "{err}");

    // S3, REST-XML: 503 SlowDown or 500 InternalError, both seen over a few calls.
    let mut codes = BTreeSet::new();
    for _ in 0..12 {
        let err = clients.s3.list_objects_v2().bucket(&bucket).send().await.expect_err("faulted");
        let raw_status = err.raw_response().map(|r| r.status().as_u16());
        let err = AwsError::from_sdk("s3:ListObjectsV2", err);
        match err.code.as_str() {
            "SlowDown" => assert_eq!((raw_status, err.kind), (Some(503), AwsErrorKind::Throttled)),
            "InternalError" => assert_eq!((raw_status, err.kind), (Some(500), AwsErrorKind::Service)),
            other => panic!("unexpected S3 error code {other}: {err}"),
        }
        codes.insert(err.code);
    }
    assert_eq!(codes.len(), 2, "both S3 faults: {codes:?}");

    // HEAD has no body: the status alone (as from S3).
    let err = clients.s3.head_bucket().bucket(&bucket).send().await.expect_err("faulted");
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert!(matches!(status, Some(500) | Some(503)), "{status:?}");

    let counts = proxy.counts();
    assert_eq!(counts["codebuild:ListProjects"].faulted, 1);
    assert_eq!(counts["sns:ListTopics"].faulted, 1);
    assert_eq!(counts["s3:ListObjectsV2"].faulted, 12);
    assert_eq!(counts["s3:HeadBucket"].faulted, 1);
    assert_eq!(counts.values().map(|c| c.forwarded).sum::<u64>(), 0, "nothing reached the emulator: {counts:?}");
}

#[tokio::test]
async fn the_sdk_retries_every_fault_and_the_attempts_counter_agrees_with_the_proxy() {
    let direct = testing::emulator_clients().await;
    let bucket = testing::unique("faults");
    testing::create_bucket(&direct, &bucket).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(0.5, 11).operation_rate("sns:ListTopics", 1.0));
    let clients = proxy.clients().await;

    // 20 puts at a 50% fault rate: all land, each exactly once, after retries.
    for i in 0..20 {
        clients
            .s3
            .put_object()
            .bucket(&bucket)
            .key(format!("k/{i}"))
            .body(vec![b'x'; 10].into())
            .send()
            .await
            .expect("put after retries");
    }
    // A call whose every attempt is faulted: the SDK gives up after 5 attempts.
    let err = clients.sns.list_topics().send().await.expect_err("gives up");
    assert_eq!(AwsError::from_sdk("sns:ListTopics", err).kind, AwsErrorKind::Throttled);

    let listed = direct.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(20));
    let counts = proxy.counts();
    let put = counts["s3:PutObject"];
    assert_eq!(put.forwarded, 20, "each put reached the emulator once: {put:?}");
    assert!(put.faulted > 0, "some puts were faulted at 50%: {put:?}");

    let attempts = clients.attempts.snapshot();
    let counted = attempts.operation("s3:PutObject");
    assert_eq!((counted.calls, counted.attempts, counted.failed), (20, put.forwarded + put.faulted, 0));
    assert_eq!(counted.retries, put.faulted);
    let topics = attempts.operation("sns:ListTopics");
    assert_eq!((topics.calls, topics.attempts, topics.retries, topics.failed), (1, 5, 4, 1));
    assert_eq!(counts["sns:ListTopics"].faulted, 5);
}

#[tokio::test]
async fn the_seed_decides_which_requests_are_faulted() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let proxy = FaultProxy::start(&FaultSettings::rate(0.5, seed));
        let clients = single_attempt_clients(&proxy).await;
        let mut outcome = Vec::new();
        for _ in 0..24 {
            outcome.push(clients.codebuild.list_projects().send().await.is_err());
        }
        assert_eq!(proxy.faulted(), outcome.iter().filter(|f| **f).count() as u64);
        outcome
    }
    let first = pattern(3).await;
    assert_eq!(pattern(3).await, first, "the same seed, the same faults");
    assert_ne!(pattern(4).await, first, "another seed, other faults");
    let share = first.iter().filter(|f| **f).count();
    assert!((4..=20).contains(&share), "about half of 24 faulted: {share}");
}

#[tokio::test]
async fn faulted_requests_never_reach_the_emulator() {
    let direct = testing::emulator_clients().await;
    let bucket = testing::unique("faults");
    testing::create_bucket(&direct, &bucket).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 1).operation_rate("s3:PutObject", 1.0));
    let clients = single_attempt_clients(&proxy).await;
    let put = || clients.s3.put_object().bucket(&bucket).key("k").body(b"x".to_vec().into()).send();
    put().await.expect_err("the put is faulted");
    let listed = direct.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(0), "a faulted PutObject was not carried out");
    assert_eq!(proxy.forwarded("s3:PutObject"), 0);

    // Switched off at run time, the same call goes through, once.
    proxy.configure(serde_json::json!({"operation_rates": {}}));
    put().await.expect("forwarded");
    assert_eq!(proxy.forwarded("s3:PutObject"), 1);
    let listed = direct.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.key_count(), Some(1));
}

#[tokio::test]
async fn latency_is_added_to_every_request() {
    let proxy = FaultProxy::start(&FaultSettings { latency_ms: 150, ..FaultSettings::default() });
    let clients = single_attempt_clients(&proxy).await;
    let start = Instant::now();
    clients.codebuild.list_projects().send().await.expect("forwarded");
    clients.sns.list_topics().send().await.expect("forwarded");
    assert!(start.elapsed() >= Duration::from_millis(300), "{:?}", start.elapsed());
}
