//! cache-guard against the emulator: heals, no-ops, dry runs, opt-outs, refusals, duplicates,
//! sweeps over several pages, malformed events.

use crate::guard_support::{build_event, cache_of, config, setup, sweep_event};
use cache_sentinel::config::CommonConfig;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{self, ProjectFixture};
use std::collections::HashMap;

#[tokio::test]
async fn local_docker_cache_is_healed_to_s3_with_a_per_project_prefix() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let before = s.clients.codebuild.batch_get_projects().names(&name).send().await.unwrap().projects()[0].clone();
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);

    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));

    // Nothing but the cache changed.
    let after = s.clients.codebuild.batch_get_projects().names(&name).send().await.unwrap().projects()[0].clone();
    assert_eq!(after.source(), before.source());
    assert_eq!(after.environment(), before.environment());
    assert_eq!(after.tags(), before.tags());
    assert_eq!(after.service_role(), before.service_role());
    assert_eq!(after.timeout_in_minutes(), before.timeout_in_minutes());
    assert_eq!(after.artifacts(), before.artifacts());

    // One notice, readable, with filterable attributes.
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let notice = &received[0];
    assert!(notice.subject.as_deref().unwrap().contains(&name));
    assert!(notice.message.contains("LOCAL (LOCAL_DOCKER_LAYER_CACHE)"), "{}", notice.message);
    assert!(notice.message.contains(&format!("S3 at {}/{name}", s.bucket)), "{}", notice.message);
    assert!(notice.message.contains("Docker layers"), "{}", notice.message);
    assert_eq!(notice.attributes.get("project"), Some(&name));
    assert_eq!(notice.attributes.get("action").map(String::as_str), Some("healed"));
    assert_eq!(notice.attributes.get("severity").map(String::as_str), Some("warning"));
}

#[tokio::test]
async fn bare_bucket_location_when_per_project_prefix_is_off() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("CACHE_PREFIX_PER_PROJECT", "false")]), &s.clients);
    guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(s.bucket.clone()));
}

#[tokio::test]
async fn conventional_bucket_name_from_the_event_account() {
    let clients = testing::emulator_clients().await;
    let bucket = format!("codebuild-cache-{}-{}", testing::ACCOUNT, testing::region());
    // Shared by tests that use the convention: create it if absent.
    if clients.s3.head_bucket().bucket(&bucket).send().await.is_err() {
        let _ = clients
            .s3
            .create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(testing::region().as_str()))
                    .build(),
            )
            .send()
            .await;
    }
    let role = testing::cache_role(&clients, &bucket).await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&clients).await;
    let guard = CacheGuard::new(config(&[]), &clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.bucket, bucket);
    assert_eq!(cache_of(&clients, &name).await, CacheSetting::s3(format!("{bucket}/{name}")));
}

#[tokio::test]
async fn project_already_on_s3_is_left_alone() {
    let (s, role) = setup().await;
    let name = testing::unique("tts");
    let name = ProjectFixture::new(&name)
        .service_role(&role)
        .cache(testing::s3_cache(&format!("{}/{name}", s.bucket)))
        .create(&s.clients)
        .await;
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Unchanged);
    assert!(s.topic.drain().await.is_empty());
}

#[tokio::test]
async fn custom_s3_location_is_reported_not_moved_unless_configured() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts"))
        .service_role(&role)
        .cache(testing::s3_cache(&format!("{}/custom", s.bucket)))
        .create(&s.clients)
        .await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Unchanged);
    assert!(report.projects[0].reason.contains("custom S3 cache"), "{}", report.projects[0].reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(format!("{}/custom", s.bucket)));

    let relocating =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("GUARD_RELOCATE_CUSTOM_S3", "true")]), &s.clients);
    let report = relocating.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));
}

#[tokio::test]
async fn dry_run_reports_the_plan_and_changes_nothing() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let guard = CacheGuard::new(
        config(&[("CACHE_BUCKET", &s.bucket), ("DRY_RUN", "true"), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]),
        &s.clients,
    );
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert!(report.dry_run);
    let p = &report.projects[0];
    assert_eq!(p.outcome, Outcome::WouldHeal);
    assert_eq!(p.after.as_ref().unwrap(), &CacheSetting::s3(format!("{}/{name}", s.bucket)));
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    assert!(s.topic.drain().await.is_empty());
}

#[tokio::test]
async fn opt_out_tag_and_exclude_pattern_change_nothing() {
    let (s, role) = setup().await;
    let tagged = ProjectFixture::new(&testing::unique("tts"))
        .service_role(&role)
        .tag("cache-sentinel:ignore", "true")
        .create(&s.clients)
        .await;
    let excluded = ProjectFixture::new(&testing::unique("sandbox")).service_role(&role).create(&s.clients).await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("PROJECT_EXCLUDE", "sandbox-*")]), &s.clients);
    for name in [&tagged, &excluded] {
        let report = guard.handle(&build_event(name, "IN_PROGRESS")).await.expect("guard");
        assert_eq!(report.projects[0].outcome, Outcome::Skipped, "{report:?}");
        assert_eq!(cache_of(&s.clients, name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    }
}

#[tokio::test]
async fn missing_bucket_changes_nothing_and_only_the_sweep_reports_it() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let missing = testing::unique("no-such-bucket");
    let guard = CacheGuard::new(
        config(&[("CACHE_BUCKET", &missing), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn), ("PROJECT_INCLUDE", &name)]),
        &s.clients,
    );
    let event = build_event(&name, "IN_PROGRESS");
    let report = guard.handle(&event).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Refused);
    assert!(report.projects[0].reason.contains("does not exist"), "{}", report.projects[0].reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    // No bucket, no once-a-day markers: a build event does not email (every build start would).
    assert!(!report.projects[0].notified);
    assert!(report.notice_problems[0].contains("no cache bucket"), "{:?}", report.notice_problems);
    assert!(s.topic.drain().await.is_empty());
    // The sweep reports it, once per sweep.
    let sweep = guard.handle(&sweep_event()).await.expect("sweep");
    assert_eq!(sweep.count(Outcome::Refused), 1);
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].attributes.get("severity").map(String::as_str), Some("error"));
    assert!(received[0].message.contains(&missing) && received[0].message.contains(&name));
}

#[tokio::test]
async fn duplicate_event_is_a_no_op_the_second_time() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let cfg = [("CACHE_BUCKET", s.bucket.as_str()), ("NOTIFY_TOPIC_ARN", s.topic.topic_arn.as_str())];
    let event = build_event(&name, "IN_PROGRESS");
    let first = CacheGuard::new(config(&cfg), &s.clients).handle(&event).await.expect("guard");
    // A second instance (no shared memory) sees the duplicate: the project is already healed.
    let second = CacheGuard::new(config(&cfg), &s.clients).handle(&event).await.expect("guard");
    assert_eq!(first.projects[0].outcome, Outcome::Healed);
    assert_eq!(second.projects[0].outcome, Outcome::Unchanged);
    assert_eq!(s.topic.drain().await.len(), 1);
}

#[tokio::test]
async fn a_project_that_drifts_back_is_healed_again() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let first = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(first.projects[0].outcome, Outcome::Healed);
    // Someone sets it back to LOCAL: a new lastModified, so a new heal (not the claimed one).
    s.clients.codebuild.update_project().name(&name).cache(testing::local_docker_cache()).send().await.unwrap();
    let second = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(second.projects[0].outcome, Outcome::Healed, "{second:?}");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));
}

#[tokio::test]
async fn deleted_project_is_skipped_with_a_reason() {
    let (s, _) = setup().await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let report = guard.handle(&build_event(&testing::unique("gone"), "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Skipped);
    assert!(report.projects[0].reason.contains("does not exist"));
}

#[tokio::test]
async fn sweep_heals_every_drifted_project_over_several_pages() {
    let (s, role) = setup().await;
    // ListProjects pages hold 100 names; 105 drifted projects need two pages and two BatchGetProjects calls.
    let prefix = testing::unique("sweep");
    let mut names = Vec::new();
    for i in 0..105 {
        let cache = if i % 7 == 0 { testing::no_cache() } else { testing::local_docker_cache() };
        names.push(
            ProjectFixture::new(&format!("{prefix}-{i:03}")).service_role(&role).cache(cache).create(&s.clients).await,
        );
    }
    let include = format!("{prefix}-*");
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("PROJECT_INCLUDE", &include)]), &s.clients);
    let report = guard.handle(&sweep_event()).await.expect("sweep");
    assert_eq!(report.trigger, "scheduled-sweep");
    assert_eq!(
        report.count(Outcome::Healed),
        105,
        "{:?}",
        report
            .projects
            .iter()
            .filter(|p| p.outcome != Outcome::Healed && p.project.starts_with(&prefix))
            .collect::<Vec<_>>()
    );
    for name in &names {
        assert_eq!(cache_of(&s.clients, name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));
    }
    // Projects of other tests are out of scope, not touched.
    assert!(report.projects.iter().filter(|p| !p.project.starts_with(&prefix)).all(|p| p.outcome == Outcome::Skipped));
}

#[tokio::test]
async fn malformed_events_fail_with_clear_errors() {
    let clients = testing::emulator_clients().await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", "any-bucket")]), &clients);
    for sample in testing::invalid_events() {
        let err = guard.handle(&sample.event).await.expect_err(&format!("{} must be rejected", sample.path.display()));
        let message = err.to_string();
        assert!(
            message.contains(&sample.cause),
            "{}: error {message:?} does not name {:?}",
            sample.path.display(),
            sample.cause
        );
    }
}

#[test]
fn config_errors_name_the_variable() {
    let env: HashMap<String, String> = [("GUARD_RELOCATE_CUSTOM_S3".to_owned(), "perhaps".to_owned())].into();
    let err = GuardConfig::from_env(&env).unwrap_err();
    assert_eq!(err.variable, "GUARD_RELOCATE_CUSTOM_S3");
    let env: HashMap<String, String> = [("PROJECT_INCLUDE".to_owned(), "a b".to_owned())].into();
    assert_eq!(CommonConfig::from_env(&env).unwrap_err().variable, "PROJECT_INCLUDE");
}
