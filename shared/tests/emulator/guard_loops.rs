//! Heals that do not stick: a project set back to LOCAL after each of three heals within a week is
//! not healed a fourth time, with one notice saying why (the audit shows its heals and the loop),
//! but healed when its source sets another cache;
//! under GUARD_OWNED_PROJECTS=tell a project CloudFormation deploys is left as it is, with the
//! change to make in its template.

use crate::guard_support::{build_event, cache_of, config, setup};
use cache_sentinel::audit::Auditor;
use cache_sentinel::clock::SystemClock;
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::plan::RefusalCause;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::monitor::MonitorConfig;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{self, ProjectFixture};
use std::sync::Arc;

#[tokio::test]
async fn a_project_set_back_three_times_in_a_week_is_not_healed_again_with_one_notice() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let vars =
        [("CACHE_BUCKET", s.bucket.as_str()), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn), ("PROJECT_INCLUDE", &name)];
    let guard = CacheGuard::new(config(&vars), &s.clients);
    let set_back = || async {
        let update = s.clients.codebuild.update_project().name(&name).cache(testing::local_docker_cache());
        update.send().await.expect("set back to LOCAL");
    };
    for heal in 1..=3 {
        let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
        assert_eq!(report.projects[0].outcome, Outcome::Healed, "heal {heal}: {report:?}");
        set_back().await;
    }
    assert_eq!(s.topic.drain().await.len(), 3, "one notice per heal");

    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("a refusal, not an error");
    let p = &report.projects[0];
    assert_eq!((p.outcome, p.refusal), (Outcome::Refused, Some(RefusalCause::HealLoop)), "{report:?}");
    assert!(p.reason.contains("healed 3 times in the last 7 days"), "{}", p.reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].subject.as_deref().unwrap().contains("healed again and again"), "{:?}", received[0].subject);
    assert!(received[0].message.contains("CloudTrail"), "{}", received[0].message);

    // The next build: still not healed, and no second notice.
    let again = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(again.projects[0].outcome, Outcome::Refused);
    assert!(s.topic.drain().await.is_empty());

    // The audit shows the heals and the loop.
    let auditor = Auditor::new(
        config(&vars),
        MonitorConfig::from_env(&[("CACHE_BUCKET", s.bucket.as_str())]).unwrap(),
        &s.clients,
        Arc::new(SystemClock),
    );
    let scope = auditor.scope(None).await.expect("scope");
    let line = auditor.audit_project(&scope, 0).await;
    assert_eq!((line.heals, line.guard.refusal), (Some(3), Some(RefusalCause::HealLoop)), "{line:?}");

    // Its source now sets another cache (no cache): not the loop, healed.
    let update = s.clients.codebuild.update_project().name(&name).cache(testing::no_cache());
    update.send().await.expect("set to NO_CACHE");
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "another cache is another story: {report:?}");
    assert_eq!(s.topic.drain().await.len(), 1, "its heal notice");

    // Back to LOCAL: the three heals from LOCAL still make it a loop.
    set_back().await;
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Refused, "{report:?}");

    // Off: healed again.
    let off = CacheGuard::new(config(&[&vars[..], &[("GUARD_HEAL_LOOP_HEALS", "0")]].concat()), &s.clients);
    let report = off.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
}

#[tokio::test]
async fn tell_only_leaves_an_owned_project_with_the_change_for_its_template() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts"))
        .service_role(&role)
        .tag("aws:cloudformation:stack-name", "tts-pipeline")
        .tag("aws:cloudformation:logical-id", "TtsBuild")
        .create(&s.clients)
        .await;
    let vars = [
        ("CACHE_BUCKET", s.bucket.as_str()),
        ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn),
        ("GUARD_OWNED_PROJECTS", "tell"),
    ];
    let report = CacheGuard::new(config(&vars), &s.clients).handle(&build_event(&name, "IN_PROGRESS")).await;
    let p = &report.expect("guard").projects[0];
    assert_eq!((p.outcome, p.refusal), (Outcome::Refused, Some(RefusalCause::Owned)));
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].message;
    assert!(body.contains("defined by CloudFormation stack tts-pipeline (TtsBuild)"), "{body}");
    assert!(body.contains(&format!("Location: {}/{name}", s.bucket)), "{body}");
}
