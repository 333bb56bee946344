//! cache-guard under faults and concurrency: one project's permanent failure stays that project's,
//! ten builds starting together make one UpdateProject and one notice, and two sweeps at once heal
//! each project once and notify it once.

use crate::guard_support::{UpdateProjectSpy, build_event, cache_of, config, setup, sweep_event};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{self, ProjectFixture};

/// `count` drifted projects named `<prefix>-000`...
async fn drifted(clients: &cache_sentinel::aws::Clients, role: &str, prefix: &str, count: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(count);
    for i in 0..count {
        names.push(ProjectFixture::new(&format!("{prefix}-{i:03}")).service_role(role).create(clients).await);
    }
    names
}

#[tokio::test]
async fn one_permanent_failure_in_a_sweep_of_50_is_that_projects_alone() {
    let (s, role) = setup().await;
    let prefix = testing::unique("fifty");
    let names = drifted(&s.clients, &role, &prefix, 50).await;
    // Deleted between read and update: UpdateProject answers ResourceNotFoundException.
    let spy = UpdateProjectSpy { vanish: Some(names[13].clone()), ..Default::default() };
    let include = format!("{prefix}-*");
    let guard = CacheGuard::new(
        config(&[("CACHE_BUCKET", &s.bucket), ("PROJECT_INCLUDE", &include), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]),
        &spy.clients(&s.clients),
    );
    let report = guard.handle(&sweep_event()).await.expect("a permanent failure does not fail the sweep");
    let ours: Vec<_> = report.projects.iter().filter(|p| p.project.starts_with(&prefix)).collect();
    assert_eq!(ours.len(), 50);
    assert_eq!(report.count(Outcome::Healed), 49, "{ours:?}");
    let failed = ours.iter().find(|p| p.project == names[13]).unwrap();
    assert_eq!(failed.outcome, Outcome::Refused);
    assert!(failed.reason.contains("codebuild:UpdateProject") && failed.reason.contains("ResourceNotFoundException"));
    assert_eq!(cache_of(&s.clients, &names[13]).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    for name in names.iter().filter(|n| **n != names[13]) {
        assert_eq!(cache_of(&s.clients, name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));
    }
    // One combined notice for the whole sweep.
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{:?}", received.iter().map(|r| &r.subject).collect::<Vec<_>>());
    assert_eq!(received[0].subject.as_deref(), Some("cache-guard sweep: 49 healed, 1 not healed"));
    assert!(names.iter().all(|n| received[0].message.contains(n.as_str())));
}

#[tokio::test]
async fn ten_builds_starting_together_make_one_update_and_one_notice() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let spy = UpdateProjectSpy::default();
    let clients = spy.clients(&s.clients);
    let cfg = config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]);
    // Ten instances (no shared memory), ten events (each build has its own event id).
    let guards: Vec<CacheGuard> = (0..10).map(|_| CacheGuard::new(cfg.clone(), &clients)).collect();
    let events: Vec<_> = (0..10).map(|_| build_event(&name, "IN_PROGRESS")).collect();
    let reports = futures::future::join_all(guards.iter().zip(&events).map(|(g, e)| g.handle(e))).await;
    let outcomes: Vec<Outcome> = reports.into_iter().map(|r| r.expect("guard").projects[0].outcome).collect();
    assert_eq!(spy.calls(), vec![name.clone()], "exactly one UpdateProject; outcomes {outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Healed).count(), 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(o, Outcome::Healed | Outcome::Duplicate | Outcome::Unchanged)),
        "{outcomes:?}"
    );
    assert_eq!(s.topic.drain().await.len(), 1);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));
}

#[tokio::test]
async fn two_sweeps_at_once_heal_and_notify_each_project_once() {
    let (s, role) = setup().await;
    let prefix = testing::unique("twin");
    let names = drifted(&s.clients, &role, &prefix, 12).await;
    let spy = UpdateProjectSpy::default();
    let clients = spy.clients(&s.clients);
    let include = format!("{prefix}-*");
    let cfg =
        config(&[("CACHE_BUCKET", &s.bucket), ("PROJECT_INCLUDE", &include), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]);
    let (first, second) = (CacheGuard::new(cfg.clone(), &clients), CacheGuard::new(cfg, &clients));
    let (a, b) = (sweep_event(), sweep_event());
    let (ra, rb) = tokio::join!(first.handle(&a), second.handle(&b));
    let (ra, rb) = (ra.expect("first sweep"), rb.expect("second sweep"));

    let mut updated = spy.calls();
    updated.sort();
    assert_eq!(updated, names, "each project updated exactly once");
    assert_eq!(ra.count(Outcome::Healed) + rb.count(Outcome::Healed), names.len());
    let received = s.topic.drain().await;
    assert!(!received.is_empty() && received.len() <= 2, "one combined notice per sweep at most: {}", received.len());
    for name in &names {
        let mentions = received.iter().filter(|r| r.message.contains(&format!("Project:  {name} "))).count();
        assert_eq!(mentions, 1, "{name} notified {mentions} times");
    }
}
