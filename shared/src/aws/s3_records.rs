//! Small JSON records under cache-sentinel's reserved prefix of the cache bucket: put one, list the
//! first keys under a prefix. The monitor keeps one record per judged build there
//! (`monitor::streak`), named so that a listing alone tells the story.

use crate::error::AwsError;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

/// Writes `body` at `key` (an unconditional PutObject: the same record written twice is the same).
pub async fn put_record(client: &Client, bucket: &str, key: &str, body: &str) -> Result<(), AwsError> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:PutObject", e))?;
    Ok(())
}

/// The first `max` keys under `prefix`, in S3's key order (one ListObjectsV2 call, `max` <= 1,000).
pub async fn first_keys(client: &Client, bucket: &str, prefix: &str, max: i32) -> Result<Vec<String>, AwsError> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(max)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
    Ok(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect())
}
