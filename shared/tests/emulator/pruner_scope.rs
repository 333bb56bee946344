//! The pruner acts only inside real cache locations: a bucket shared with other things, a root
//! location, custom and nested prefixes, locations shared by a namespace, locations that disappear
//! (and their grace, counted from when they were seen missing), projects out of scope, and a
//! location whose deletions S3 denies while the others are pruned.

use super::pruner::{
    all_but_newest, build_event, keys, listing, location, objects, project_at, pruner, seed, setup, sweep_event,
};
use cache_sentinel::pruner::{Reason, RunLimits};
use cache_sentinel::testing::{self, ProjectFixture};
use std::collections::BTreeSet;

#[tokio::test]
async fn a_root_location_in_a_bucket_with_other_folders_is_left_alone_with_the_reason() {
    let (clients, bucket) = setup().await;
    // The bucket: the seed's bare-bucket location, a custom prefix, and other things.
    let seed_project = project_at(&clients, "tts-service-build", &bucket, "").await;
    project_at(&clients, "tts-api", &bucket, "team-cache/tts-api").await;
    let mut all = objects("", 6);
    all.extend((0..5).map(|i| format!("releases/app-1.4{i}.0.zip")));
    all.extend((0..6).map(|i| format!("tf.backups/state-{i}.tfstate")));
    all.extend(objects("team-cache/tts-api/", 5));
    all.push("team-cache/README".into());
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    // 40 days on: everything is past the maximum age.
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str())], 40)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    assert!(report.finished, "{report:?}");
    let after = keys(&listing(&clients, &bucket).await);
    let deleted: BTreeSet<String> = keys(&before).difference(&after).cloned().collect();
    assert_eq!(deleted, all_but_newest(&before, &["team-cache/tts-api"], 3), "only the prefixed location is pruned");
    // The root: left alone, said with the first thing that is not cache and what to change.
    assert!(!report.locations.contains_key(&bucket), "{:?}", report.locations.keys());
    let root = report.excluded.iter().find(|e| e.prefix.is_empty()).expect("the root is among the left alone");
    assert_eq!(root.projects, vec![seed_project]);
    assert!(root.reason.contains("the folder \"releases/\" is not a cache location"), "{}", root.reason);
    assert!(root.reason.contains("give each project its own prefix"), "{}", root.reason);
    let unmanaged = report.unmanaged.as_ref().expect("unmanaged");
    assert_eq!((unmanaged.objects, unmanaged.prefixes, unmanaged.complete), (12, 3, true), "{unmanaged:?}");
    let message = cache_sentinel::pruner::notice::summary(&report).body().to_owned();
    assert!(
        message.contains(&format!("Cache locations left alone:\n  {bucket}: the bucket also holds other data")),
        "{message}"
    );
}

#[tokio::test]
async fn a_root_level_terraform_state_beside_a_root_location_keeps_every_root_key() {
    let (clients, bucket) = setup().await;
    let project = project_at(&clients, "tts-service-build", &bucket, "").await;
    let mut all = objects("", 8);
    all.push("terraform.tfstate".into());
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    for event in [sweep_event(), build_event(&project, "SUCCEEDED")] {
        let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str())], 40)
            .handle(&event, RunLimits::default())
            .await
            .unwrap();
        assert_eq!(report.outcome.deleted, 0, "{report:?}");
        let root = report.excluded.iter().find(|e| e.prefix.is_empty()).expect("the root is left alone");
        assert!(
            root.reason.contains("\"terraform.tfstate\" at the bucket root is not named like a cache object"),
            "{}",
            root.reason
        );
    }
    assert_eq!(keys(&listing(&clients, &bucket).await), keys(&before), "nothing deleted, the state file least of all");
}

#[tokio::test]
async fn a_bucket_that_holds_only_cache_has_its_root_location_pruned() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "tts-service-build", &bucket, "").await;
    project_at(&clients, "tts-api", &bucket, "team-cache/tts-api").await;
    let mut all = objects("", 6);
    all.extend(objects("team-cache/tts-api/", 4));
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let root_keys: Vec<(String, i64)> = before.iter().filter(|(k, _)| !k.contains('/')).cloned().collect();
    let expected_root: BTreeSet<String> = {
        let mut sorted = root_keys.clone();
        sorted.sort_by(|a, b| (b.1, &b.0).cmp(&(a.1, &a.0)));
        sorted.iter().skip(3).map(|(k, _)| k.clone()).collect()
    };
    let mut expected = all_but_newest(&before, &["team-cache/tts-api"], 3);
    expected.extend(expected_root);
    // The pruner's own state is in the bucket too (a first sweep writes it): still cache-only.
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    let report = pruner(&clients, &vars, 40).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(report.finished && report.excluded.is_empty(), "{report:?}");
    let after = keys(&listing(&clients, &bucket).await);
    let deleted: BTreeSet<String> = keys(&before).difference(&after).cloned().collect();
    assert_eq!(deleted, expected);
    assert_eq!(location(&report, &bucket, "").plan.by_reason.get(&Reason::MaxAge), Some(&3));
    // The survey costs one more delimiter listing of the root and of team-cache/ (which holds a
    // location): the root and team-cache/ listed twice, the location once.
    assert_eq!(super::pruner::calls(&report, "s3:ListObjectsV2(delimiter)"), 4, "{:?}", report.api_calls);
    let again = pruner(&clients, &vars, 40).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(again.excluded.is_empty() && again.outcome.deleted == 0, "{again:?}");
}

#[tokio::test]
async fn nested_locations_each_keep_their_own_newest() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "team", &bucket, "team").await;
    project_at(&clients, "team-api", &bucket, "team/api").await;
    project_at(&clients, "tts", &bucket, "tts").await;
    let mut all = objects("team/", 5);
    all.extend(objects("team/api/", 5));
    all.extend(objects("tts/", 4));
    all.extend(objects("tts-api/", 4)); // not the location tts: no project uses it
    seed(&clients, &bucket, all).await;
    let before = listing(&clients, &bucket).await;
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str()), ("PRUNE_KEEP_NEWEST", "2")], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    let team_only: Vec<(String, i64)> =
        before.iter().filter(|(k, _)| k.starts_with("team/") && !k.starts_with("team/api/")).cloned().collect();
    let mut expected = all_but_newest(&team_only, &["team"], 2);
    expected.extend(all_but_newest(&before, &["team/api", "tts"], 2));
    let deleted: BTreeSet<String> =
        keys(&before).difference(&keys(&listing(&clients, &bucket).await)).cloned().collect();
    assert_eq!(deleted, expected, "{report:?}");
    assert_eq!(location(&report, &bucket, "team").plan.scanned, 5, "team/api's objects are not team's");
    assert_eq!(report.unmanaged.as_ref().map(|u| u.objects), Some(4), "tts-api/ is unmanaged");
    // Every key listed once: each location's single page, the root, the unmanaged folder.
    assert_eq!(super::pruner::calls(&report, "s3:ListObjectsV2"), 3 + 1, "{:?}", report.api_calls);
}

#[tokio::test]
async fn a_location_shared_by_a_namespace_lives_while_any_project_uses_it() {
    let (clients, bucket) = setup().await;
    let shared = |name: &str| {
        let cache = aws_sdk_codebuild::types::ProjectCache::builder()
            .r#type(aws_sdk_codebuild::types::CacheType::S3)
            .location(format!("{bucket}/shared"))
            .cache_namespace("deps-v1")
            .build()
            .unwrap();
        ProjectFixture::new(&testing::unique(name)).cache(cache)
    };
    let a = shared("ns-a").create(&clients).await;
    let b = shared("ns-b").create(&clients).await;
    seed(&clients, &bucket, objects("shared/", 6)).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_MAX_AGE_DAYS", "3650"), ("PRUNE_ORPHAN_GRACE_DAYS", "7")];
    let report = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    let line = location(&report, &bucket, "shared");
    let mut projects = line.projects.clone();
    projects.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!((projects, line.namespaces.clone()), (expected, vec!["deps-v1".to_owned()]));
    // One project gone: the group lives on, nothing is an orphan, even 30 days later.
    clients.codebuild.delete_project().name(&a).send().await.unwrap();
    for days in [61, 90] {
        let report = pruner(&clients, &vars, days).handle(&sweep_event(), RunLimits::default()).await.unwrap();
        assert_eq!(location(&report, &bucket, "shared").state.as_str(), "live");
        assert_eq!(report.outcome.deleted, 0);
    }
    clients.codebuild.delete_project().name(&b).send().await.unwrap();
}

#[tokio::test]
async fn a_location_that_disappears_goes_only_after_being_seen_missing_for_the_grace_period() {
    let (clients, bucket) = setup().await;
    let gone = project_at(&clients, "moved", &bucket, "old-place").await;
    project_at(&clients, "stays", &bucket, "stays").await;
    let mut all = objects("old-place/", 10);
    all.extend(objects("stays/", 3));
    all.extend(objects("never-a-location/", 3));
    seed(&clients, &bucket, all).await;
    // Age rules off: only the orphan rule can delete here.
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_MAX_AGE_DAYS", "3650"), ("PRUNE_ORPHAN_GRACE_DAYS", "7")];
    let sweep = |days: i64| {
        let p = pruner(&clients, &vars, days);
        async move { p.handle(&sweep_event(), RunLimits::default()).await.unwrap() }
    };
    // Seen in use (60 days on: every object is 60 days old, far past the grace).
    assert_eq!(sweep(60).await.outcome.deleted, 0);
    clients.codebuild.delete_project().name(&gone).send().await.unwrap();
    // Seen missing at 61: the grace starts now, not from the objects' age.
    let report = sweep(61).await;
    assert_eq!(report.outcome.deleted, 0);
    assert_eq!(location(&report, &bucket, "old-place").state.as_str(), "missing");
    assert_eq!(sweep(67).await.outcome.deleted, 0, "6 days missing");
    let report = sweep(68).await;
    assert_eq!(report.outcome.deleted, 10, "7 days missing: orphaned {report:?}");
    assert_eq!(report.plan.by_reason.get(&Reason::Orphaned), Some(&10));
    let left = keys(&listing(&clients, &bucket).await);
    assert!(left.iter().all(|k| !k.starts_with("old-place/")));
    assert_eq!(left.iter().filter(|k| k.starts_with("never-a-location/")).count(), 3, "never seen in use: unmanaged");
    // Emptied, it is forgotten after the next sweep finds it empty.
    assert_eq!(location(&sweep(69).await, &bucket, "old-place").plan.scanned, 0);
    let report = sweep(70).await;
    assert!(!report.locations.contains_key(&format!("{bucket}/old-place")), "{:?}", report.locations.keys());
}

#[tokio::test]
async fn orphan_deletion_can_be_switched_off() {
    let (clients, bucket) = setup().await;
    let gone = project_at(&clients, "gone", &bucket, "gone").await;
    seed(&clients, &bucket, objects("gone/", 5)).await;
    let vars = [
        ("CACHE_BUCKET", bucket.as_str()),
        ("PRUNE_MAX_AGE_DAYS", "3650"),
        ("PRUNE_ORPHAN_GRACE_DAYS", "1"),
        ("PRUNE_DELETE_ORPHANS", "false"),
    ];
    pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    clients.codebuild.delete_project().name(&gone).send().await.unwrap();
    for days in [61, 90, 400] {
        let report = pruner(&clients, &vars, days).handle(&sweep_event(), RunLimits::default()).await.unwrap();
        assert_eq!(report.outcome.deleted, 0, "{report:?}");
        assert_eq!(location(&report, &bucket, "gone").state.as_str(), "missing");
    }
    assert_eq!(listing(&clients, &bucket).await.len(), 5);
}

#[tokio::test]
async fn projects_out_of_scope_keep_their_location_even_when_shared() {
    let (clients, bucket) = setup().await;
    let legacy = testing::unique("legacy");
    let include = format!("{}*", legacy.split('-').next().unwrap_or("legacy"));
    project_at(&clients, "tts", &bucket, "tts").await;
    ProjectFixture::new(&legacy).cache(testing::s3_cache(&format!("{bucket}/tts"))).create(&clients).await;
    seed(&clients, &bucket, objects("tts/", 6)).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PROJECT_EXCLUDE", include.as_str())];
    let report = pruner(&clients, &vars, 60).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert_eq!(report.outcome.deleted, 0, "{report:?}");
    assert!(report.excluded.iter().any(|e| e.prefix == "tts" && e.reason.contains(&legacy)), "{:?}", report.excluded);
    assert_eq!(report.unmanaged.as_ref().map(|u| u.objects), Some(0), "an excluded location is not unmanaged");
}

#[tokio::test]
async fn a_location_whose_deletions_s3_denies_is_reported_and_the_others_are_pruned() {
    let (clients, bucket) = setup().await;
    project_at(&clients, "locked", &bucket, "locked").await;
    project_at(&clients, "open", &bucket, "open").await;
    seed(&clients, &bucket, [objects("locked/", 5), objects("open/", 5)].concat()).await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": format!("arn:aws:s3:::{bucket}/locked/*")}]
    });
    clients.s3.put_bucket_policy().bucket(&bucket).policy(policy.to_string()).send().await.unwrap();
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str())], 60)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    assert_eq!(location(&report, &bucket, "open").outcome.deleted, 2);
    assert_eq!(location(&report, &bucket, "locked").outcome.failed, 2);
    assert!(
        report.errors.iter().all(|e| e.code == "AccessDenied" && e.key.starts_with("locked/")),
        "{:?}",
        report.errors
    );
    assert_eq!(listing(&clients, &bucket).await.len(), 8);
}

/// A NO_CACHE project named like an old folder, healed to `<bucket>/releases-...` 40 days ago, over
/// years of release archives: the archives are older than every project that used the location, so
/// they are never its cache: never deleted, reported as predating it (count and bytes). The cache
/// it wrote since is pruned as any location's.
#[tokio::test]
async fn objects_older_than_the_locations_projects_are_never_deleted_and_are_reported() {
    let (clients, bucket) = setup().await;
    let name = testing::unique("releases");
    let at = format!("{bucket}/{name}");
    ProjectFixture::new(&name).cache(testing::s3_cache(&at)).created_seconds_ago(40 * 86_400).create(&clients).await;
    let put = |key: String, days: u64, size: usize| {
        let (clients, bucket) = (clients.clone(), bucket.clone());
        async move { testing::put_aged(&clients, &bucket, &key, days, size).await }
    };
    for (i, days) in [900u64, 500, 200, 60].into_iter().enumerate() {
        put(format!("{name}/app-1.{i}.0.zip"), days, 1000).await;
    }
    for (i, days) in [35u64, 34, 33, 32, 31].into_iter().enumerate() {
        put(format!("{name}/cache-{i:02}"), days, 10).await;
    }
    let report = pruner(&clients, &[("CACHE_BUCKET", bucket.as_str())], 0)
        .handle(&sweep_event(), RunLimits::default())
        .await
        .unwrap();
    let after = keys(&listing(&clients, &bucket).await);
    for i in 0..4 {
        assert!(after.contains(&format!("{name}/app-1.{i}.0.zip")), "archive {i} kept: {after:?}");
    }
    let cache: Vec<&String> = after.iter().filter(|k| k.contains("/cache-")).collect();
    assert_eq!(cache.len(), 3, "the 3 newest cache objects stay, the 2 past 30 days go: {after:?}");
    let plan = &location(&report, &bucket, &name).plan;
    assert_eq!((plan.predating, plan.bytes_predating), (4, 4000), "{plan:?}");
    assert_eq!(plan.by_reason.get(&Reason::MaxAge), Some(&2));
    assert_eq!((report.plan.predating, report.plan.bytes_predating), (4, 4000), "the run's total says it too");
}
