//! The harness's emulator-only aid: `emulator-age-seconds` metadata backdates LastModified, so
//! age-based logic can be exercised through the real binaries, which run on the wall clock.

use cache_sentinel::testing;

#[tokio::test]
async fn objects_can_be_put_with_a_past_last_modified() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("age");
    testing::create_bucket(&clients, &bucket).await;
    let body = || aws_sdk_s3::primitives::ByteStream::from_static(b"x");
    clients
        .s3
        .put_object()
        .bucket(&bucket)
        .key("old")
        .metadata("emulator-age-seconds", "864000")
        .body(body())
        .send()
        .await
        .unwrap();
    clients.s3.put_object().bucket(&bucket).key("new").body(body()).send().await.unwrap();
    let listed = clients.s3.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let age = |key: &str| {
        let modified = listed.contents().iter().find(|o| o.key() == Some(key)).and_then(|o| o.last_modified()).unwrap();
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64 - modified.secs()
    };
    assert!((864_000 - 120..=864_000 + 120).contains(&age("old")), "old is {} s old", age("old"));
    assert!(age("new") < 120, "new is {} s old", age("new"));
}
