//! One email per build and kind, exactly, across Lambda's retries, concurrent deliveries and a
//! crash between the claim and the publish (`shared/src/monitor/notify_once.rs`): the marker is a
//! claim that lapses after `CLAIM_SECONDS`, the publish, then the confirmation that never lapses.
//! Faults come from the fault proxy; what was sent is read from the topic's queue directly.

use super::monitor_evidence::final_event;
use cache_sentinel::aws::Clients;
use cache_sentinel::aws::s3::Markers;
use cache_sentinel::monitor::notify_once::MARKER_NAMESPACE;
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig, Outcome};
use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use serde_json::{Value, json};
use std::collections::HashMap;

fn monitor_through(s: &Sandbox, clients: &Clients) -> BuildTimeMonitor {
    let env: HashMap<String, String> =
        [("CACHE_BUCKET", s.bucket.as_str()), ("NOTIFY_TOPIC_ARN", s.topic.topic_arn.as_str())]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
    BuildTimeMonitor::new(MonitorConfig::from_env(&env).expect("config"), clients)
}

/// A 40-minute first build: slow (20-28 min), one email due.
async fn slow_build(s: &Sandbox) -> (Value, String) {
    let project = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let uuid = testing::unique("b");
    (final_event(s, &project, &uuid, "SUCCEEDED", 40, 45), format!("{project}:{uuid}"))
}

fn marker(s: &Sandbox, build_id: &str) -> (Markers, String) {
    (Markers::new(s.clients.s3.clone(), s.bucket.clone(), MARKER_NAMESPACE), format!("finished-slow--{build_id}"))
}

#[tokio::test]
async fn a_throttled_claim_fails_the_invocation_and_its_retry_sends_once() {
    let s = Sandbox::new().await;
    let (event, _) = slow_build(&s).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 1).operation_rate("s3:PutObject", 1.0));
    let monitor = monitor_through(&s, &proxy.clients().await);
    let err = monitor.handle(&event).await.expect_err("a claim S3 keeps refusing (503 SlowDown) fails the invocation");
    assert!(err.to_string().contains("s3:PutObject"), "{err}");
    assert!(s.topic.drain().await.is_empty(), "not sent without its marker");
    proxy.configure(json!({"operation_rates": {"s3:PutObject": 0.0}}));
    for outcome in [Outcome::Notified, Outcome::AlreadyNotified] {
        let report = monitor.handle(&event).await.expect("the retry");
        assert_eq!(report.builds[0].outcome, outcome, "{report:?}");
    }
    assert_eq!(s.topic.drain().await.len(), 1);
}

#[tokio::test]
async fn a_failed_publish_gives_the_claim_back_and_the_retry_sends_once() {
    let s = Sandbox::new().await;
    let (event, build_id) = slow_build(&s).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 2).operation_rate("sns:Publish", 1.0));
    let monitor = monitor_through(&s, &proxy.clients().await);
    let err = monitor.handle(&event).await.expect_err("SNS throttling through every retry fails the invocation");
    assert!(err.to_string().contains("sns:Publish"), "{err}");
    let (markers, name) = marker(&s, &build_id);
    let key = markers.key(&name);
    assert!(s.clients.s3.head_object().bucket(&s.bucket).key(&key).send().await.is_err(), "the claim was given back");
    proxy.configure(json!({"operation_rates": {"sns:Publish": 0.0}}));
    let report = monitor.handle(&event).await.expect("the retry");
    assert_eq!(report.builds[0].outcome, Outcome::Notified);
    assert_eq!(s.topic.drain().await.len(), 1);
    // Confirmed: the marker no longer lapses.
    let got = s.clients.s3.get_object().bucket(&s.bucket).key(&key).send().await.expect("marker");
    let body: Value = serde_json::from_slice(&got.body.collect().await.unwrap().into_bytes()).unwrap();
    assert!(body.get("expires_at").is_none() && body["subject"].is_string(), "{body}");
}

#[tokio::test]
async fn a_claim_left_by_a_crash_lapses_and_the_next_delivery_sends() {
    let s = Sandbox::new().await;
    let (event, build_id) = slow_build(&s).await;
    let (markers, name) = marker(&s, &build_id);
    let now = chrono::Utc::now();
    // What an invocation killed between its claim and its publish leaves: a claim still holding.
    assert!(markers.claim_until(&name, now, now + chrono::Duration::seconds(20)).await.unwrap());
    let monitor = monitor_through(&s, &s.clients);
    let report = monitor.handle(&event).await.expect("monitor");
    assert_eq!(report.builds[0].outcome, Outcome::AlreadyNotified, "in flight elsewhere: {report:?}");
    assert!(report.builds[0].reason.contains("claimed"), "{}", report.builds[0].reason);
    assert!(s.topic.drain().await.is_empty());
    // The same claim, lapsed (Lambda retries a crashed invocation after a minute): sent once.
    let key = markers.key(&name);
    let lapsed = json!({"expires_at": (now - chrono::Duration::seconds(1)).to_rfc3339(),
        "claimed_at": (now - chrono::Duration::seconds(31)).to_rfc3339()});
    s.clients
        .s3
        .put_object()
        .bucket(&s.bucket)
        .key(&key)
        .body(lapsed.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    for outcome in [Outcome::Notified, Outcome::AlreadyNotified] {
        assert_eq!(monitor.handle(&event).await.expect("monitor").builds[0].outcome, outcome);
    }
    assert_eq!(s.topic.drain().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_send_one_email() {
    let s = Sandbox::new().await;
    let (event, _) = slow_build(&s).await;
    let monitor = monitor_through(&s, &s.clients);
    let reports = futures::future::join_all((0..6).map(|_| monitor.handle(&event))).await;
    let outcomes: Vec<Outcome> = reports.into_iter().map(|r| r.expect("monitor").builds[0].outcome).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Notified).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::AlreadyNotified).count(), 5, "{outcomes:?}");
    assert_eq!(s.topic.drain().await.len(), 1);
}
