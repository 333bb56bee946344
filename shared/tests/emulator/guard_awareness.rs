//! cache-guard heals only where S3 is the right cache and will work: fleets and Docker servers
//! keep LOCAL, namespaces are carried, shared locations stay, the service role's access is checked
//! first (with the exact statement to add), and other accounts' events are left alone.

use crate::guard_support::{build_event, cache_of, config, create_fleet, read_only_role, setup, sweep_event};
use aws_sdk_codebuild::types::{ComputeType, DockerServer, FleetOverflowBehavior, ProjectCache, ProjectFleet};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{self, ProjectFixture};
use serde_json::json;

async fn fleet(clients: &cache_sentinel::aws::Clients, overflow: FleetOverflowBehavior) -> String {
    let out = create_fleet(clients, &testing::unique("fleet"), Some(overflow)).await.expect("create fleet");
    out.fleet.and_then(|f| f.arn).expect("fleet arn")
}

#[tokio::test]
async fn fleet_projects_keep_local_and_on_demand_overflow_is_warned_once() {
    let (s, role) = setup().await;
    let queued = fleet(&s.clients, FleetOverflowBehavior::Queue).await;
    let on_demand = fleet(&s.clients, FleetOverflowBehavior::OnDemand).await;
    let on_fleet = |arn: &str| {
        testing::docker_environment().fleet(ProjectFleet::builder().fleet_arn(arn).build()).build().unwrap()
    };
    let quiet = ProjectFixture::new(&testing::unique("fleet-q"))
        .service_role(&role)
        .environment(on_fleet(&queued))
        .create(&s.clients)
        .await;
    let loud = ProjectFixture::new(&testing::unique("fleet-od"))
        .service_role(&role)
        .environment(on_fleet(&on_demand))
        .create(&s.clients)
        .await;
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);

    let report = guard.handle(&build_event(&quiet, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Kept, "{report:?}");
    assert!(report.projects[0].reason.contains("reserved-capacity fleet"), "{}", report.projects[0].reason);
    assert!(report.projects[0].warnings.is_empty());
    assert_eq!(cache_of(&s.clients, &quiet).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    assert!(s.topic.drain().await.is_empty(), "a QUEUE fleet is nothing to report");

    let report = guard.handle(&build_event(&loud, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Kept);
    assert!(report.projects[0].warnings[0].contains("ON_DEMAND"), "{:?}", report.projects[0].warnings);
    assert_eq!(cache_of(&s.clients, &loud).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    // Another build of it the same day: no second warning (a new instance: no shared memory).
    let again =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);
    again.handle(&build_event(&loud, "IN_PROGRESS")).await.expect("guard");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].attributes.get("action").map(String::as_str), Some("warned"));
    assert!(received[0].message.contains(&on_demand), "{}", received[0].message);
}

#[tokio::test]
async fn docker_server_projects_keep_local() {
    let (s, role) = setup().await;
    let environment = testing::docker_environment()
        .docker_server(DockerServer::builder().compute_type(ComputeType::BuildGeneral1Large).build().unwrap())
        .build()
        .unwrap();
    let name = ProjectFixture::new(&testing::unique("dockersrv"))
        .service_role(&role)
        .environment(environment)
        .create(&s.clients)
        .await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Kept, "{report:?}");
    assert!(report.projects[0].reason.contains("Docker server"), "{}", report.projects[0].reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
}

#[tokio::test]
async fn namespace_is_carried_and_a_shared_location_is_not_relocated() {
    let (s, role) = setup().await;
    let local_in_namespace = ProjectCache::builder()
        .r#type(aws_sdk_codebuild::types::CacheType::Local)
        .modes(aws_sdk_codebuild::types::CacheMode::LocalDockerLayerCache)
        .cache_namespace("speech-team")
        .build()
        .unwrap();
    let name = ProjectFixture::new(&testing::unique("ns"))
        .service_role(&role)
        .cache(local_in_namespace)
        .create(&s.clients)
        .await;
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("GUARD_RELOCATE_CUSTOM_S3", "true")]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
    let healed = cache_of(&s.clients, &name).await;
    assert_eq!(healed, CacheSetting::s3(format!("{}/{name}", s.bucket)).with_namespace(Some("speech-team".into())));

    // Two projects on one custom location: relocation would split their cache.
    let shared = format!("{}/{}", s.bucket, testing::unique("team-cache"));
    let first = ProjectFixture::new(&testing::unique("web"))
        .service_role(&role)
        .cache(testing::s3_cache(&shared))
        .create(&s.clients)
        .await;
    let second = ProjectFixture::new(&testing::unique("api"))
        .service_role(&role)
        .cache(testing::s3_cache(&shared))
        .create(&s.clients)
        .await;
    let report = guard.handle(&build_event(&first, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Unchanged, "{report:?}");
    assert!(report.projects[0].reason.contains(&second) && report.projects[0].reason.contains("never relocated"));
    assert_eq!(cache_of(&s.clients, &first).await, CacheSetting::s3(shared));
}

#[tokio::test]
async fn a_role_without_cache_access_is_refused_with_the_statement_to_add() {
    let s = testing::Sandbox::new().await;
    // May read the cache, not write it.
    let role = read_only_role(&s).await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("a refusal is not a failed invocation");
    let p = &report.projects[0];
    assert_eq!(p.outcome, Outcome::Refused, "{report:?}");
    assert!(p.reason.contains("s3:PutObject not allowed"), "{}", p.reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    let statement = format!(
        "{{\n  \"Sid\": \"CodeBuildCacheObjects\",\n  \"Effect\": \"Allow\",\n  \"Action\": [\"s3:PutObject\"],\n  \"Resource\": \"arn:aws:s3:::{}/{name}/*\"\n}}",
        s.bucket
    );
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].subject.as_deref().unwrap().contains("service role cannot use the cache"));
    // Indented under its item in the email.
    assert!(received[0].message.contains(&statement.replace('\n', "\n    ")), "{}", received[0].message);

    // The next build the same day: refused again, not notified again; a day later: notified again
    // (the marker's expiry, renewed with a conditional overwrite).
    let again = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!((again.projects[0].outcome, again.projects[0].notified), (Outcome::Refused, false));
    let tomorrow = chrono::Utc::now() + chrono::Duration::hours(25);
    let later =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients)
            .with_clock(std::sync::Arc::new(cache_sentinel::clock::FixedClock(tomorrow)));
    let next_day = later.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert!(next_day.projects[0].notified, "{next_day:?}");
    assert_eq!(s.topic.drain().await.len(), 1);

    // The statement added: the next build heals it.
    let iam = aws_sdk_iam::Client::new(&s.clients.sdk);
    let role_name = role.rsplit('/').next().unwrap();
    let fixed = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
    iam.put_role_policy().role_name(role_name).policy_name("cache-write").policy_document(fixed).send().await.unwrap();
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
}

#[tokio::test]
async fn a_role_that_does_not_exist_is_unverifiable_and_refused() {
    let s = testing::Sandbox::new().await;
    // The fixture's default role is not in IAM.
    let name = ProjectFixture::new(&testing::unique("tts")).create(&s.clients).await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Refused, "{report:?}");
    assert!(
        report.projects[0].reason.contains("could not verify") && report.projects[0].reason.contains("NoSuchEntity")
    );
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
}

#[tokio::test]
async fn an_event_from_another_account_is_skipped() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let mut event = build_event(&name, "IN_PROGRESS");
    event["account"] = json!("210987654321");
    let report = guard.handle_in_account(&event, Some(testing::ACCOUNT)).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Skipped, "{report:?}");
    assert!(report.projects[0].reason.contains("account 210987654321"), "{}", report.projects[0].reason);
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
    let mut sweep = sweep_event();
    sweep["account"] = json!("210987654321");
    let report = guard.handle_in_account(&sweep, Some(testing::ACCOUNT)).await.expect("guard");
    assert_eq!(report.count(Outcome::Skipped), report.projects.len());
    // From its own account the same event is handled.
    let report =
        guard.handle_in_account(&build_event(&name, "IN_PROGRESS"), Some(testing::ACCOUNT)).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed);
}
