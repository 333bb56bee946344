//! A lease kept while a run with no deadline goes on (the command line's `prune --apply`): renewed
//! while the sweep lasts; taken over in the middle of a sweep, the run stops, sends no more
//! deletions and leaves the state to the new holder.

use super::pruner::{objects, project_at, pruner, seed, setup};
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
