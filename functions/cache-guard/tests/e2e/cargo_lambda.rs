//! End to end: the cache-guard binary runs behind the Lambda Runtime API (served by
//! `cargo lambda watch`), is invoked with `cargo lambda invoke --data-file`, and heals a project
//! in the emulator.

use cache_sentinel::testing::{self, LambdaWatch, ProjectFixture};

#[tokio::test]
async fn guard_binary_heals_a_project_through_the_runtime_api() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("e2e-cache");
    testing::create_bucket(&clients, &bucket).await;
    let role = testing::cache_role(&clients, &bucket).await;
    let project = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&clients).await;

    let dir = std::env::temp_dir().join(testing::unique("e2e-events"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../../events/build-in-progress.json")).unwrap();
    event["detail"]["project-name"] = serde_json::json!(project);
    event["region"] = serde_json::json!(testing::region());
    let event_file = dir.join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();

    let watch = LambdaWatch::start(&[("CACHE_BUCKET", bucket.as_str())]);
    let report = watch.invoke("cache-guard", event_file.to_str().unwrap()).expect("invoke");
    assert_eq!(report["projects"][0]["outcome"], "healed", "{report}");
    assert_eq!(report["projects"][0]["before"]["type"], "LOCAL", "{report}");

    let out = clients.codebuild.batch_get_projects().names(&project).send().await.unwrap();
    let cache = out.projects()[0].cache().unwrap();
    assert_eq!(cache.r#type().as_str(), "S3");
    assert_eq!(cache.location(), Some(format!("{bucket}/{project}").as_str()));

    // A malformed event is an error naming the cause, returned through the Runtime API.
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events");
    let invalid = events.join("invalid/missing-project-name--project-name.json");
    let error = watch.invoke("cache-guard", invalid.to_str().unwrap()).expect_err("a malformed event must fail");
    assert!(error.contains("project-name"), "{error}");
    // An event it does not handle (an S3 event) is a reported refusal: the invocation succeeds.
    let other = events.join("unhandled/s3-object-created--aws.s3.json");
    let report = watch.invoke("cache-guard", other.to_str().unwrap()).expect("an unhandled event is no failure");
    assert_eq!(report["trigger"], "unhandled", "{report}");
    assert!(report["refused"].as_str().is_some_and(|r| r.contains("aws.s3")), "{report}");
}
