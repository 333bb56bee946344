//! The harness's CodeBuild UpdateProject (moto lacks it): partial updates, AWS's errors, the
//! updated project in the response.

use aws_sdk_codebuild::types::{CacheType, ProjectCache};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cache_sentinel::testing::{self, ProjectFixture};

#[tokio::test]
async fn update_changes_only_the_given_fields_and_returns_the_project() {
    let clients = testing::emulator_clients().await;
    let name = ProjectFixture::new(&testing::unique("upd")).create(&clients).await;
    let before = clients.codebuild.batch_get_projects().names(&name).send().await.unwrap().projects()[0].clone();

    let out = clients
        .codebuild
        .update_project()
        .name(&name)
        .cache(testing::s3_cache("some-bucket/prefix"))
        .send()
        .await
        .expect("update");
    let returned = out.project().expect("project in response");
    assert_eq!(returned.cache().unwrap().r#type(), &CacheType::S3);
    assert_eq!(returned.cache().unwrap().location(), Some("some-bucket/prefix"));

    let after = clients.codebuild.batch_get_projects().names(&name).send().await.unwrap().projects()[0].clone();
    assert_eq!(after.cache(), returned.cache());
    assert_eq!(after.source(), before.source());
    assert_eq!(after.environment(), before.environment());
    assert_eq!(after.service_role(), before.service_role());
    assert_eq!(after.tags(), before.tags());
    assert_eq!(after.timeout_in_minutes(), before.timeout_in_minutes());
    assert_eq!(after.description(), before.description());
}

#[tokio::test]
async fn unknown_project_is_resource_not_found() {
    let clients = testing::emulator_clients().await;
    let err = clients
        .codebuild
        .update_project()
        .name(testing::unique("nope"))
        .cache(testing::no_cache())
        .send()
        .await
        .expect_err("unknown project");
    assert_eq!(err.code(), Some("ResourceNotFoundException"), "{err:?}");
}

#[tokio::test]
async fn invalid_cache_is_invalid_input_and_changes_nothing() {
    let clients = testing::emulator_clients().await;
    let name = ProjectFixture::new(&testing::unique("inv")).create(&clients).await;
    let invalid = [
        ProjectCache::builder().r#type(CacheType::S3).build().unwrap(),
        ProjectCache::builder().r#type(CacheType::Local).build().unwrap(),
        ProjectCache::builder().r#type(CacheType::S3).location("Bad_Bucket!").build().unwrap(),
        ProjectCache::builder().r#type(CacheType::NoCache).location("b").build().unwrap(),
    ];
    for cache in invalid {
        let err = clients
            .codebuild
            .update_project()
            .name(&name)
            .cache(cache.clone())
            .send()
            .await
            .expect_err("invalid cache");
        assert_eq!(err.code(), Some("InvalidInputException"), "{cache:?}: {err:?}");
    }
    let after = clients.codebuild.batch_get_projects().names(&name).send().await.unwrap().projects()[0].clone();
    assert_eq!(after.cache(), Some(&testing::local_docker_cache()));
}
