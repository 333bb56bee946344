//! A location ten projects share (one `cacheNamespace`): the N newest are kept per live project,
//! attributed by the times of each project's builds, so the project that builds monthly keeps its
//! cache while nine others build daily; objects no build wrote are the group's.

use super::pruner::{calls, keys, listing, location, pruner, setup, sweep_event};
use aws_sdk_codebuild::types::{CacheType, EnvironmentVariable, EnvironmentVariableType, ProjectCache};
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::testing::{self, ProjectFixture};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

/// A build of `project` that ran 20 minutes from `start` (the emulator reports it exactly so).
async fn build_at(clients: &cache_sentinel::aws::Clients, project: &str, start: DateTime<Utc>) {
    let spec = serde_json::json!({"start": start.to_rfc3339(), "status": "SUCCEEDED", "phases": [["BUILD", 1200]]});
    let variable = EnvironmentVariable::builder()
        .name("EMULATOR_BUILD")
        .value(spec.to_string())
        .r#type(EnvironmentVariableType::Plaintext)
        .build()
        .unwrap();
    clients
        .codebuild
        .start_build()
        .project_name(project)
        .environment_variables_override(variable)
        .send()
        .await
        .unwrap();
}

/// Puts 10-byte objects last modified `age` ago.
async fn put_aged(clients: &cache_sentinel::aws::Clients, bucket: &str, objects: Vec<(String, Duration)>) {
    let aged = objects.into_iter().map(|(key, age)| (key, age.num_seconds().max(0) as u64)).collect();
    super::pruner::put_aged(clients, bucket, aged, 10).await;
}

#[tokio::test]
async fn a_monthly_builder_keeps_its_cache_in_a_location_ten_projects_share() {
    let (clients, bucket) = setup().await;
    let cache = ProjectCache::builder()
        .r#type(CacheType::S3)
        .location(format!("{bucket}/shared"))
        .cache_namespace("deps-v1")
        .build()
        .unwrap();
    let mut projects = Vec::new();
    for i in 0..10 {
        projects.push(
            ProjectFixture::new(&testing::unique(&format!("grp{i}"))).cache(cache.clone()).create(&clients).await,
        );
    }
    let now = Utc::now();
    // Nine projects build daily for ten days, each at its own hour; the tenth built once, 25 days
    // ago. Each build writes one object 10 minutes in.
    let mut objects = Vec::new();
    let mut old_daily = BTreeSet::new();
    for (i, project) in projects.iter().enumerate() {
        let days: Vec<i64> = if i < 9 { (0..10).collect() } else { vec![25] };
        for day in days {
            let start = now - Duration::days(day) - Duration::hours(i as i64 + 1);
            build_at(&clients, project, start).await;
            let key = format!("shared/{:08x}", ((i * 100 + day as usize) as u32).wrapping_mul(2_654_435_761));
            if i < 9 && day >= 7 {
                old_daily.insert(key.clone());
            }
            objects.push((key, now - (start + Duration::minutes(10))));
        }
    }
    let monthly = objects.last().unwrap().0.clone();
    // An object no build wrote (its time matches none): the group's, kept among its 30 newest.
    objects.push(("shared/00stray".into(), Duration::days(20)));
    put_aged(&clients, &bucket, objects).await;
    let before = keys(&listing(&clients, &bucket).await);
    assert_eq!(before.len(), 92);

    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_MAX_AGE_DAYS", "7")];
    let report = pruner(&clients, &vars, 0).handle(&sweep_event(), RunLimits::default()).await.unwrap();
    assert!(report.finished, "{report:?}");
    let after = keys(&listing(&clients, &bucket).await);
    let deleted: BTreeSet<String> = before.difference(&after).cloned().collect();
    // Each daily builder keeps its 3 newest and what is younger than 7 days; the monthly builder's
    // only object, 25 days old behind 90 newer ones, stays: its next build restores it.
    assert_eq!(deleted, old_daily, "{report:?}");
    assert!(after.contains(&monthly) && after.contains("shared/00stray"));
    let line = location(&report, &bucket, "shared");
    let note = line.kept_per_project.as_deref().unwrap_or_default();
    assert!(note.contains("shared by 10 live projects") && note.contains("3 newest kept per project"), "{note}");
    // Calls grow with the projects: one listing and one read of builds each.
    assert_eq!(calls(&report, "codebuild:ListBuildsForProject"), 10, "{:?}", report.api_calls);
    assert_eq!(calls(&report, "codebuild:BatchGetBuilds"), 10, "{:?}", report.api_calls);

    // A build-event run of the same location keeps the same objects (nothing more to delete).
    let event = super::pruner::build_event(&projects[0], "SUCCEEDED");
    let again = pruner(&clients, &vars, 0).handle(&event, RunLimits::default()).await.unwrap();
    assert_eq!(again.outcome.deleted, 0, "{again:?}");
    assert!(keys(&listing(&clients, &bucket).await).contains(&monthly));
}

/// A build-event run (a SUCCEEDED build of the busy project) applies the same per-project rule.
#[tokio::test]
async fn a_build_event_run_keeps_n_per_project_too() {
    let (clients, bucket) = setup().await;
    let shared = testing::s3_cache(&format!("{bucket}/team"));
    let busy = ProjectFixture::new(&testing::unique("busy")).cache(shared.clone()).create(&clients).await;
    let rare = ProjectFixture::new(&testing::unique("rare")).cache(shared).create(&clients).await;
    let now = Utc::now();
    let mut objects = Vec::new();
    for day in 0..6 {
        let start = now - Duration::days(day) - Duration::hours(2);
        build_at(&clients, &busy, start).await;
        objects.push((format!("team/busy-{day}"), now - (start + Duration::minutes(5))));
    }
    let start = now - Duration::days(40);
    build_at(&clients, &rare, start).await;
    objects.push(("team/rare".into(), now - (start + Duration::minutes(5))));
    put_aged(&clients, &bucket, objects).await;
    let vars = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_MAX_AGE_DAYS", "2"), ("PRUNE_KEEP_NEWEST", "2")];
    let event = super::pruner::build_event(&busy, "SUCCEEDED");
    let report = pruner(&clients, &vars, 0).handle(&event, RunLimits::default()).await.unwrap();
    let after = keys(&listing(&clients, &bucket).await);
    let expected: BTreeSet<String> =
        ["team/busy-0", "team/busy-1", "team/rare"].iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(after, expected, "busy keeps its 2 newest, rare its only one, 40 days old: {report:?}");
}
