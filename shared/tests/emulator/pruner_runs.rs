//! Runs that meet: two sweeps at once, a sweep alongside build-event runs (one lease, same
//! survivors, no doubled counts); and keys S3 can only list URL-encoded and DeleteObjects cannot
//! carry.

use super::pruner::{
    all_but_newest, build_event, keys, listing, objects, project_at, pruner, seed, setup, sweep_event,
};
use cache_sentinel::pruner::RunLimits;
use std::collections::BTreeSet;

#[tokio::test]
async fn two_sweeps_at_once_end_as_one_sweep_would() {
    let (clients, bucket) = setup().await;
    let prefixes = ["a", "b", "c", "d"];
    for p in prefixes {
        project_at(&clients, p, &bucket, p).await;
    }
    seed(&clients, &bucket, prefixes.iter().flat_map(|p| objects(&format!("{p}/"), 400)).collect()).await;
    let before = listing(&clients, &bucket).await;
    let expected = all_but_newest(&before, &prefixes, 3);
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_LIST_CONCURRENCY", "2")];
    let (one, two) = (pruner(&clients, &vars, 60), pruner(&clients, &vars, 60));
    let event = sweep_event();
    let (r1, r2) = tokio::join!(one.handle(&event, RunLimits::default()), two.handle(&event, RunLimits::default()));
    let (r1, r2) = (r1.expect("first"), r2.expect("second"));
    assert_eq!(r1.outcome.deleted + r2.outcome.deleted, expected.len() as u64, "no doubled counts:\n{r1:?}\n{r2:?}");
    assert_eq!(r1.plan.planned + r2.plan.planned, expected.len() as u64);
    let left = keys(&listing(&clients, &bucket).await);
    assert_eq!(left, keys(&before).difference(&expected).cloned().collect::<BTreeSet<_>>());
    // The loser says what it skipped (unless the winner was already done when it asked).
    if let Some(skipped) = r1.skipped.as_ref().or(r2.skipped.as_ref()) {
        assert!(skipped.contains("sweep") && skipped.contains("lease"), "{skipped}");
    }
}

#[tokio::test]
async fn a_sweep_alongside_build_event_runs_ends_with_the_same_survivors() {
    let (clients, bucket) = setup().await;
    let mut projects = Vec::new();
    for p in ["a", "b", "c"] {
        projects.push(project_at(&clients, p, &bucket, p).await);
    }
    seed(&clients, &bucket, ["a", "b", "c"].iter().flat_map(|p| objects(&format!("{p}/"), 300)).collect()).await;
    let before = listing(&clients, &bucket).await;
    let expected = all_but_newest(&before, &["a", "b", "c"], 3);
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    let pruners: Vec<_> = (0..4).map(|_| pruner(&clients, &vars, 60)).collect();
    let events = [
        sweep_event(),
        build_event(&projects[0], "SUCCEEDED"),
        build_event(&projects[1], "SUCCEEDED"),
        build_event(&projects[2], "SUCCEEDED"),
    ];
    let runs =
        futures::future::join_all(pruners.iter().zip(&events).map(|(p, e)| p.handle(e, RunLimits::default()))).await;
    let reports: Vec<_> = runs.into_iter().map(|r| r.expect("run")).collect();
    let deleted: u64 = reports.iter().map(|r| r.outcome.deleted).sum();
    assert_eq!(
        deleted,
        expected.len() as u64,
        "no doubled counts: {:?}",
        reports.iter().map(|r| (r.trigger, r.outcome.deleted, &r.skipped)).collect::<Vec<_>>()
    );
    let left = keys(&listing(&clients, &bucket).await);
    assert_eq!(left, keys(&before).difference(&expected).cloned().collect::<BTreeSet<_>>());
}

#[tokio::test]
async fn keys_with_control_characters_spaces_and_escapes_are_listed_and_deleted() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "odd", &bucket, "odd").await;
    // (A line feed in a key is valid in S3, but moto's server cannot route it.)
    let odd =
        ["odd/ctl\u{1}char", "odd/with space", "odd/plus+sign", "odd/percent%41", "odd/ünï©ødé", "odd/tab\tand\rcr"];
    // Written one by one so that their LastModified order is the order here.
    for key in odd {
        seed(&clients, &bucket, vec![key.to_owned()]).await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    }
    seed(&clients, &bucket, objects("odd/", 1000)).await;
    let before = listing(&clients, &bucket).await;
    assert_eq!(before.len(), 1006, "every odd key lists, decoded");
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str()), ("PRUNE_KEEP_NEWEST", "1")], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .expect("report");
    assert_eq!((report.outcome.deleted, report.outcome.failed), (1005, 0), "{:?}", report.errors);
    assert_eq!(listing(&clients, &bucket).await.len(), 1);
    // The key XML cannot carry went on its own; the 1,000-key batch around it did not fail.
    assert_eq!(report.deleted_one_by_one, vec!["odd/ctl\u{1}char".to_owned()], "{report:?}");
    assert_eq!(super::pruner::calls(&report, "s3:DeleteObjects"), 2);
}

async fn put_lease(clients: &cache_sentinel::aws::Clients, bucket: &str, kind: &str, expires_in_days: i64) {
    let at = chrono::Utc::now() + chrono::Duration::days(60);
    let body = serde_json::json!({
        "holder": "another-run",
        "kind": kind,
        "acquired_at": at.to_rfc3339(),
        "expires_at": (at + chrono::Duration::days(expires_in_days)).to_rfc3339(),
        "released": false,
    });
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(own_keys(bucket).lease_key())
        .body(body.to_string().into_bytes().into())
        .send()
        .await
        .expect("put lease");
}

#[tokio::test]
async fn a_held_lease_skips_the_run_and_an_expired_one_is_taken_over() {
    let (clients, bucket) = setup().await;
    let project = project_at(&clients, "leased", &bucket, "leased").await;
    seed(&clients, &bucket, objects("leased/", 10)).await;
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    // A sweep holds it (until a day later than the runs' clock): a sweep and a build run skip.
    put_lease(&clients, &bucket, "sweep", 1).await;
    let sweep = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    let skipped = sweep.skipped.as_deref().unwrap_or_default();
    assert!(skipped.contains("another-run") && skipped.contains("sweep"), "{sweep:?}");
    assert_eq!((sweep.plan.scanned, sweep.outcome.deleted), (0, 0));
    let build =
        pruner(&clients, &vars, 60).handle(&build_event(&project, "SUCCEEDED"), RunLimits::default()).await.unwrap();
    assert!(build.skipped.is_some() && build.outcome.deleted == 0, "{build:?}");
    assert_eq!(listing(&clients, &bucket).await.len(), 10);
    // Expired (its holder's deadline passed): taken over, the sweep runs.
    put_lease(&clients, &bucket, "sweep", -1).await;
    let sweep = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(sweep.skipped.is_none(), "{sweep:?}");
    assert_eq!(sweep.outcome.deleted, 7);
    // Given back: the next run takes it at once.
    let again = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(again.skipped.is_none() && again.finished, "{again:?}");
}

/// The keys of the test deployment (the sample events' account, the emulator's region).
fn own_keys(bucket: &str) -> cache_sentinel::pruner::deployment::Deployment {
    cache_sentinel::pruner::deployment::Deployment::new(
        bucket,
        Some(cache_sentinel::testing::ACCOUNT),
        &cache_sentinel::testing::region(),
    )
}
