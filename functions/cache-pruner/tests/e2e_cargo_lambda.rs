//! End to end: the cache-pruner binary behind the Lambda Runtime API (`cargo lambda watch`),
//! invoked with `cargo lambda invoke`, prunes aged objects in the emulator (aged with the harness's
//! `emulator-age-seconds` metadata, since the binary runs on the wall clock).

use cache_sentinel::testing::{self, LambdaWatch, ProjectFixture};
use std::collections::BTreeSet;

const DAY: u64 = 86_400;

async fn put(clients: &cache_sentinel::aws::Clients, bucket: &str, key: &str, age_seconds: u64) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .metadata("emulator-age-seconds", age_seconds.to_string())
        .body(aws_sdk_s3::primitives::ByteStream::from(vec![0u8; 1024]))
        .send()
        .await
        .expect("put object");
}

#[tokio::test]
async fn pruner_binary_prunes_a_project_after_a_successful_build() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("e2e-prune");
    testing::create_bucket(&clients, &bucket).await;
    let name = testing::unique("tts");
    let project =
        ProjectFixture::new(&name).cache(testing::s3_cache(&format!("{bucket}/{name}"))).create(&clients).await;
    let other = testing::unique("other");

    // Five cache objects of the project's location: the 3 newest stay (PRUNE_KEEP_NEWEST), of the
    // two older ones only the one past the 30-day maximum age goes. An old object outside the
    // location (no project uses `other/`) stays.
    for (name, age) in [("a", 45 * DAY), ("b", 20 * DAY), ("c", 3 * DAY), ("d", 2 * DAY), ("e", DAY / 2)] {
        put(&clients, &bucket, &format!("{project}/{name}"), age).await;
    }
    put(&clients, &bucket, &format!("{other}/old"), 90 * DAY).await;

    let dir = std::env::temp_dir().join(testing::unique("e2e-events"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    event["detail"]["project-name"] = serde_json::json!(project);
    event["region"] = serde_json::json!(testing::region());
    let event_file = dir.join("succeeded.json");
    std::fs::write(&event_file, event.to_string()).unwrap();

    let watch = LambdaWatch::start(&[("CACHE_BUCKET", bucket.as_str())]);
    let report = watch.invoke("cache-pruner", event_file.to_str().unwrap()).expect("invoke");
    let text = report.to_string();
    assert!(text.contains(&format!("{project}/a")), "the 45-day-old object is reported: {report}");

    let listed = clients.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    // cache-sentinel's own objects (the run's lease) left out.
    let keys: BTreeSet<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .filter(|k| !k.starts_with(".cache-sentinel/"))
        .collect();
    let expected: BTreeSet<String> =
        ["b", "c", "d", "e"].iter().map(|n| format!("{project}/{n}")).chain([format!("{other}/old")]).collect();
    assert_eq!(keys, expected);

    // A malformed event is an error naming the cause.
    let invalid = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/invalid/missing-project-name--project-name.json");
    let error = watch.invoke("cache-pruner", invalid.to_str().unwrap()).expect_err("must fail");
    assert!(error.contains("project-name"), "{error}");
}
