//! The harness's S3 answers concurrent requests on one bucket as S3 does: a listing running while
//! another request deletes keys of the same bucket gets a consistent page, never an error. (moto
//! keeps a bucket's keys in a dictionary a listing iterates; a concurrent delete changed it under
//! the listing and the request failed with a 500; `scripts/emulator/moto_server.py` serves S3
//! requests one at a time.) Retries are off here, so a single failed request fails the test.

use cache_sentinel::testing;
use futures::StreamExt;

#[tokio::test]
async fn listings_and_deletes_on_one_bucket_at_once_never_fail() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("concurrent");
    testing::create_bucket(&clients, &bucket).await;
    let keys: Vec<String> = (0..12_000).map(|i| format!("p{}/{i:05}", i % 6)).collect();
    futures::stream::iter(keys.clone())
        .map(|key| {
            let (s3, bucket) = (clients.s3.clone(), bucket.clone());
            async move { s3.put_object().bucket(bucket).key(key).body(b"x".to_vec().into()).send().await.expect("put") }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let config = clients.s3.config().to_builder().retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled());
    let s3 = aws_sdk_s3::Client::from_conf(config.build());
    let lists = (0..6).map(|p| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        tokio::spawn(async move {
            for _ in 0..4 {
                let mut pages =
                    s3.list_objects_v2().bucket(&bucket).prefix(format!("p{p}/")).max_keys(100).into_paginator().send();
                while let Some(page) = pages.next().await {
                    page.expect("a listing during deletes");
                }
            }
        })
    });
    let deletes = keys.chunks(500).map(|chunk| {
        let (s3, bucket) = (s3.clone(), bucket.clone());
        let ids: Vec<_> =
            chunk.iter().map(|k| aws_sdk_s3::types::ObjectIdentifier::builder().key(k).build().unwrap()).collect();
        tokio::spawn(async move {
            let delete = aws_sdk_s3::types::Delete::builder().set_objects(Some(ids)).quiet(true).build().unwrap();
            s3.delete_objects().bucket(&bucket).delete(delete).send().await.expect("a delete during listings");
        })
    });
    let handles: Vec<_> = lists.chain(deletes).collect();
    for handle in handles {
        handle.await.expect("no request failed");
    }
}
