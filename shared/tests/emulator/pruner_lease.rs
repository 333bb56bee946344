//! A lease kept while a run with no deadline goes on (the command line's `prune --apply`): renewed
//! while the sweep lasts; taken over in the middle of a sweep, the run stops, sends no more
//! deletions and leaves the state to the new holder. A sweep that finds a build-event run holding
//! the lease waits for it, build-event runs yield to it meanwhile, and one that can wait no longer
//! fails so that it is retried.

use super::pruner::{build_event, objects, project_at, pruner, seed, setup};
use super::pruner_deployments::sweep_of;
use cache_sentinel::aws::Clients;
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::pruner::deployment::Deployment;
use cache_sentinel::pruner::keeper::{LEASE_LOST, Renewal};
use cache_sentinel::testing::faults::{FaultProxy, FaultSettings};
use cache_sentinel::testing::{self};
use serde_json::{Value, json};
use std::time::Duration;

/// Renewed every 100 ms: a sweep through a proxy adding 150 ms to every request lasts several.
const QUICK: Renewal = Renewal { span: Duration::from_secs(300), every: Duration::from_millis(100) };

async fn lease_of(clients: &Clients, bucket: &str, key: &str) -> Option<Value> {
    let got = clients.s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    serde_json::from_slice(&got.body.collect().await.ok()?.into_bytes()).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_renews_its_lease_while_it_runs_and_gives_it_back() {
    let (direct, bucket) = setup().await;
    project_at(&direct, "tts", &bucket, "tts").await;
    seed(&direct, &bucket, objects("tts/", 5)).await;
    let proxy = FaultProxy::start(&FaultSettings { latency_ms: 150, ..FaultSettings::default() });
    let slow = proxy.clients().await;
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    let limits = RunLimits::default().with_renewal(QUICK);
    let report = pruner(&slow, &vars, 40).handle(&sweep_of(testing::ACCOUNT), limits).await.unwrap();
    assert!(report.finished, "{report:?}");
    assert_eq!(report.stopped, None);
    // Taken, renewed at least twice over a sweep of a dozen 150 ms calls, given back.
    let lease_writes = report.api_calls.get("s3:PutObject(lease)").copied().unwrap_or(0);
    assert!(lease_writes >= 4, "taken, renewed, given back: {lease_writes}");
    let key = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region()).lease_key();
    let lease = lease_of(&direct, &bucket, &key).await.expect("the lease document");
    assert_eq!(lease["released"], true, "given back after its renewals: {lease}");
    assert_eq!(report.outcome.deleted, 2, "5 objects past the maximum age, the 3 newest kept: {report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_whose_lease_is_taken_over_stops_and_leaves_the_state_to_the_new_holder() {
    let (direct, bucket) = setup().await;
    project_at(&direct, "tts", &bucket, "tts").await;
    seed(&direct, &bucket, objects("tts/", 5)).await;
    let deployment = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region());
    // Another run takes the lease over as soon as this one holds it (as one would once it expired
    // while this run could not reach S3).
    let thief = {
        let (direct, bucket, key) = (direct.clone(), bucket.clone(), deployment.lease_key());
        tokio::spawn(async move {
            loop {
                if lease_of(&direct, &bucket, &key).await.is_some_and(|l| l["holder"] != "other-run") {
                    let now = chrono::Utc::now();
                    let other = json!({"holder": "other-run", "kind": "sweep", "acquired_at": now,
                        "expires_at": now + chrono::Duration::hours(1), "released": false});
                    direct
                        .s3
                        .put_object()
                        .bucket(&bucket)
                        .key(&key)
                        .body(other.to_string().into_bytes().into())
                        .send()
                        .await
                        .expect("take the lease over");
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let proxy = FaultProxy::start(&FaultSettings { latency_ms: 150, ..FaultSettings::default() });
    let slow = proxy.clients().await;
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    let limits = RunLimits::default().with_renewal(QUICK);
    let report = pruner(&slow, &vars, 40).handle(&sweep_of(testing::ACCOUNT), limits).await.unwrap();
    thief.await.unwrap();

    assert_eq!(report.stopped.as_deref(), Some(LEASE_LOST), "{report:?}");
    assert!(!report.finished);
    assert!(
        report.notes.iter().any(|n| n.contains("lost its lease") && n.contains("another run took the lease")),
        "{:?}",
        report.notes
    );
    assert!(
        direct.s3.head_object().bucket(&bucket).key(deployment.state_key()).send().await.is_err(),
        "the state is the new holder's to write"
    );
    let lease = lease_of(&direct, &bucket, &deployment.lease_key()).await.expect("the lease document");
    assert_eq!((lease["holder"].as_str(), lease["released"].as_bool()), (Some("other-run"), Some(false)), "{lease}");
    assert_eq!(proxy.forwarded("s3:DeleteObjects"), 0, "no deletion sent once the lease was lost");
}

/// Writes a lease held by a build-event run until `until`, as that run would have taken it.
async fn build_run_holds(clients: &Clients, bucket: &str, key: &str, until: chrono::DateTime<chrono::Utc>) {
    let lease = json!({"holder": "build-run-1", "kind": "build", "acquired_at": until - chrono::Duration::minutes(16),
        "expires_at": until, "released": false});
    clients.s3.put_object().bucket(bucket).key(key).body(lease.to_string().into_bytes().into()).send().await.unwrap();
}

/// The build-event run ends: its lease given back as `LeaseStore::release` does.
async fn build_run_ends(clients: &Clients, bucket: &str, key: &str) {
    let mut lease = lease_of(clients, bucket, key).await.expect("a lease");
    lease["released"] = json!(true);
    clients.s3.put_object().bucket(bucket).key(key).body(lease.to_string().into_bytes().into()).send().await.unwrap();
}

#[tokio::test]
async fn a_sweep_starved_by_a_build_event_run_fails_to_be_retried_and_builds_yield_to_it() {
    let (clients, bucket) = setup().await;
    let project = project_at(&clients, "tts", &bucket, "tts").await;
    seed(&clients, &bucket, objects("tts/", 5)).await;
    let deployment = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region());
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    // The pruner's clock is 40 days on (the objects are past the maximum age): so is the lease.
    let later = chrono::Utc::now() + chrono::Duration::days(40);
    build_run_holds(&clients, &bucket, &deployment.lease_key(), later + chrono::Duration::minutes(10)).await;

    let sweeper = || pruner(&clients, &vars, 40).with_sweep_wait(Duration::from_secs(2));
    let err = sweeper().handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.expect_err("starved");
    assert_eq!(err.error_type(), "CachePruner.SweepWaiting", "{err}");
    assert!(err.to_string().contains("build-run-1") && err.to_string().contains("retried"), "{err}");
    let until = |marker: &Value| marker["until"].as_str().and_then(|u| u.parse::<chrono::DateTime<chrono::Utc>>().ok());
    let marker = lease_of(&clients, &bucket, &deployment.sweep_waiting_key()).await.expect("the sweep says it waits");
    let waiting_until = until(&marker).expect("until");
    // Three of its waits (2 s here) and 5 min: through Lambda's two retries.
    assert!(waiting_until > later + chrono::Duration::minutes(5), "builds yield through the retries: {marker}");

    // A build finishes meanwhile: its run yields, without touching the lease or the objects.
    let build =
        pruner(&clients, &vars, 40).handle(&build_event(&project, "SUCCEEDED"), RunLimits::default()).await.unwrap();
    let skipped = build.skipped.as_deref().unwrap_or_default();
    assert!(skipped.contains("a sweep") && skipped.contains("is waiting for the pruner's lease"), "{build:?}");
    assert_eq!(build.outcome.deleted, 0);
    assert_eq!(lease_of(&clients, &bucket, &deployment.lease_key()).await.unwrap()["holder"], "build-run-1");

    // The build-event run holding the lease ends; Lambda's retry of the sweep runs it.
    build_run_ends(&clients, &bucket, &deployment.lease_key()).await;
    let report = sweeper().handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.expect("the retry runs");
    assert!(report.finished, "{report:?}");
    assert_eq!(report.outcome.deleted, 2, "{report:?}");
    let finished_at = report.last_full_sweep.expect("the last full sweep is this one");
    assert!(report.api_calls.get("s3:PutObject").copied().unwrap_or(0) >= 2, "marker cleared, state saved");
    let marker = lease_of(&clients, &bucket, &deployment.sweep_waiting_key()).await.expect("the marker");
    assert!(until(&marker).is_some_and(|u| u < later + chrono::Duration::minutes(1)), "cleared: {marker}");

    // Builds no longer yield, and their reports say when the last full sweep finished.
    let build =
        pruner(&clients, &vars, 40).handle(&build_event(&project, "SUCCEEDED"), RunLimits::default()).await.unwrap();
    assert_eq!(build.skipped, None, "{build:?}");
    assert_eq!(build.last_full_sweep, Some(finished_at));
    let message = cache_sentinel::pruner::notice::summary(&report).body().to_owned();
    assert!(message.contains("Last full sweep: finished "), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_waits_for_a_build_event_run_that_ends_and_then_runs() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "tts", &bucket, "tts").await;
    seed(&clients, &bucket, objects("tts/", 5)).await;
    let deployment = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region());
    let later = chrono::Utc::now() + chrono::Duration::days(40);
    build_run_holds(&clients, &bucket, &deployment.lease_key(), later + chrono::Duration::minutes(10)).await;
    let ends = {
        let (clients, bucket, key) = (clients.clone(), bucket.clone(), deployment.lease_key());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            build_run_ends(&clients, &bucket, &key).await;
        })
    };
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    let started = std::time::Instant::now();
    let sweeper = pruner(&clients, &vars, 40).with_sweep_wait(Duration::from_secs(30));
    let report = sweeper.handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.expect("it waited and ran");
    ends.await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500), "it waited for the build-event run");
    assert!(report.finished && report.skipped.is_none(), "{report:?}");
    assert_eq!(report.outcome.deleted, 2);
}
