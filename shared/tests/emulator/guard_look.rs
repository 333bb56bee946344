//! cache-guard looks before it heals: a location that already holds other data (objects older than
//! the project, or a bucket root beside other folders and files) is not made a project's cache; the
//! refusal says why and where the cache could live instead. An empty location, or one holding the
//! project's own newer cache, is healed.

use crate::guard_support::{build_event, cache_of, config, setup};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{self, ProjectFixture};

#[tokio::test]
async fn a_project_named_like_an_old_folder_is_not_healed_over_its_archives() {
    let (s, role) = setup().await;
    let name = testing::unique("releases");
    ProjectFixture::new(&name).service_role(&role).cache(testing::no_cache()).create(&s.clients).await;
    // Years of release archives under the folder the heal would point the project at (the
    // project is a year old).
    for (i, days) in [900u64, 600, 400].into_iter().enumerate() {
        testing::put_aged(&s.clients, &s.bucket, &format!("{name}/app-1.{i}.0.zip"), days, 100).await;
    }
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("a refusal, not a failure");
    let p = &report.projects[0];
    assert_eq!(p.outcome, Outcome::Refused, "{report:?}");
    assert!(
        p.reason.contains(&format!("s3://{}/{name} holds other data (3 object(s) older", s.bucket)),
        "{}",
        p.reason
    );
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::none(), "left as it was");
    let notices = s.topic.drain().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].subject.as_deref().unwrap_or_default().ends_with("the cache location holds other data"));
    let instead = format!("{}/codebuild-cache/{name}", s.bucket);
    assert!(notices[0].message.contains(&instead), "says where the cache could live: {}", notices[0].message);

    // The project's own cache from before it drifted (newer than the project) is no obstacle.
    let drifted = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    testing::put_aged(&s.clients, &s.bucket, &format!("{drifted}/0a1b2c3d"), 3, 100).await;
    let report = guard.handle(&build_event(&drifted, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
}

#[tokio::test]
async fn the_bucket_root_beside_other_folders_or_files_is_not_made_a_cache() {
    let (s, role) = setup().await;
    let vars = [("CACHE_BUCKET", s.bucket.as_str()), ("CACHE_PREFIX_PER_PROJECT", "false")];
    let guard = CacheGuard::new(config(&vars), &s.clients);
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    testing::put_aged(&s.clients, &s.bucket, "terraform.tfstate", 10, 100).await;
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Refused, "{report:?}");
    assert!(report.projects[0].reason.contains("\"terraform.tfstate\" at the bucket root"), "{report:?}");

    s.clients.s3.delete_object().bucket(&s.bucket).key("terraform.tfstate").send().await.unwrap();
    testing::put_aged(&s.clients, &s.bucket, "releases/app-1.0.zip", 10, 100).await;
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Refused, "{report:?}");
    assert!(report.projects[0].reason.contains("beside other folders: releases/"), "{report:?}");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));

    // Only cache (and cache-sentinel's own keys) at the root: healed to the bare bucket.
    s.clients.s3.delete_object().bucket(&s.bucket).key("releases/app-1.0.zip").send().await.unwrap();
    testing::put_aged(&s.clients, &s.bucket, "0a1b2c3d", 10, 100).await;
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(s.bucket.clone()));
}
