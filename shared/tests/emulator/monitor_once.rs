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

/// A failure after the publish: the email went out and was confirmed, then the build's cache record
/// could not be written (S3 refusing every attempt), failing the invocation. Seed 436 of the proxy
/// at a 50% rate lets the claim, the repeat record and the confirmation (PutObject 0-2) through and
/// refuses the record and all its retries (3-7). Lambda's retry sends nothing more.
#[tokio::test]
async fn a_failure_after_the_publish_fails_the_invocation_and_its_retry_sends_nothing_more() {
    let s = Sandbox::new().await;
    let (event, _) = slow_build(&s).await;
    let proxy = FaultProxy::start(&FaultSettings::rate(0.0, 436).operation_rate("s3:PutObject", 0.5));
    let monitor = monitor_through(&s, &proxy.clients().await);
    let err = monitor.handle(&event).await.expect_err("the record's PutObject fails after the publish");
    assert!(err.to_string().contains("s3:PutObject"), "{err}");
    assert_eq!(proxy.forwarded("sns:Publish"), 1, "published before the failure");
    proxy.configure(json!({"operation_rates": {"s3:PutObject": 0.0}}));
    let retry = monitor.handle(&event).await.expect("the retry");
    assert_eq!(retry.builds[0].outcome, Outcome::AlreadyNotified, "{retry:?}");
    assert_eq!(s.topic.drain().await.len(), 1);
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

/// A crash between the claim and the publish, by a killed process: a child process (this test
/// binary, running `crash_child`) claims the build's notice and publishes through the fault proxy,
/// which holds the publish for seconds; the child is killed with SIGKILL while it waits, and the
/// held publish is then refused (never carried out). A delivery while the claim holds sends nothing;
/// the retry after it lapsed (Lambda retries a minute later) sends the one email.
#[tokio::test]
async fn a_process_killed_between_its_claim_and_its_publish_leaves_a_claim_its_retry_takes_over() {
    let s = Sandbox::new().await;
    let (event, build_id) = slow_build(&s).await;
    let proxy = FaultProxy::start(&FaultSettings { latency_ms: 5000, ..FaultSettings::default() });
    let spec = json!({"proxy": proxy.endpoint, "bucket": s.bucket, "topic": s.topic.topic_arn, "event": event});
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args(["--ignored", "--exact", "monitor_once::crash_child", "--nocapture"])
        .env("CRASH_CHILD", spec.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the child process");
    let (markers, name) = marker(&s, &build_id);
    let key = markers.key(&name);
    let started = std::time::Instant::now();
    while s.clients.s3.head_object().bucket(&s.bucket).key(&key).send().await.is_err() {
        assert!(started.elapsed() < std::time::Duration::from_secs(60), "the child never claimed");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let claimed_at = std::time::Instant::now();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await; // into its publish, held by the proxy
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    proxy.configure(json!({"latency_ms": 0, "operation_rates": {"sns:Publish": 1.0}}));
    let monitor = monitor_through(&s, &s.clients);
    assert_eq!(monitor.handle(&event).await.unwrap().builds[0].outcome, Outcome::AlreadyNotified, "claimed: in flight");
    // Lambda's retry comes a minute later; the claim lapses after CLAIM_SECONDS.
    let lapse = std::time::Duration::from_secs(cache_sentinel::monitor::notify_once::CLAIM_SECONDS as u64 + 1);
    tokio::time::sleep(lapse.saturating_sub(claimed_at.elapsed())).await;
    let got = s.clients.s3.get_object().bucket(&s.bucket).key(&key).send().await.expect("the claim");
    let claim = String::from_utf8_lossy(&got.body.collect().await.unwrap().into_bytes()).into_owned();
    let retry = monitor.handle(&event).await.unwrap();
    assert_eq!(retry.builds[0].outcome, Outcome::Notified, "the lapsed claim {claim} taken over: {retry:?}");
    assert_eq!(monitor.handle(&event).await.unwrap().builds[0].outcome, Outcome::AlreadyNotified);
    tokio::time::sleep(std::time::Duration::from_secs(5)).await; // the held publish has been refused by now
    assert_eq!(proxy.forwarded("sns:Publish"), 0, "the killed process's publish was never carried out");
    assert_eq!(s.topic.drain().await.len(), 1);
}

/// The child process of the test above: the monitor with S3 direct and SNS through the proxy.
#[tokio::test]
#[ignore = "run as a child process by a_process_killed_between_its_claim_and_its_publish_..."]
async fn crash_child() {
    let Ok(spec) = std::env::var("CRASH_CHILD") else { return };
    let spec: Value = serde_json::from_str(&spec).expect("spec");
    let direct = testing::emulator_clients().await;
    // As FaultProxy::clients builds them: the endpoint set on the loader.
    let through = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(spec["proxy"].as_str().expect("proxy"))
        .load()
        .await;
    let clients = Clients { sns: aws_sdk_sns::Client::new(&through), ..direct };
    let env: HashMap<String, String> = [
        ("CACHE_BUCKET", spec["bucket"].as_str().expect("bucket")),
        ("NOTIFY_TOPIC_ARN", spec["topic"].as_str().expect("topic")),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let monitor = BuildTimeMonitor::new(MonitorConfig::from_env(&env).expect("config"), &clients);
    let _ = monitor.handle(&spec["event"]).await;
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
