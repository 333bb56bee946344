//! S3 adapter pieces shared by the functions: bucket reachability and idempotency markers.

use crate::error::AwsError;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

/// HeadBucket: whether the bucket exists and may be used (Ok), and the region S3 says it lives in.
pub async fn head_bucket(client: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    let out = client.head_bucket().bucket(bucket).send().await.map_err(|e| AwsError::from_sdk("s3:HeadBucket", e))?;
    Ok(out.bucket_region().map(str::to_owned))
}

/// Whether nothing is stored under `prefix/` (ListObjectsV2, max-keys 1). An empty prefix means
/// the bucket root; cache-sentinel's own keys there are skipped (they sort before any project key).
pub async fn prefix_is_empty(client: &Client, bucket: &str, prefix: &str) -> Result<bool, AwsError> {
    let mut request = client.list_objects_v2().bucket(bucket).max_keys(1);
    if prefix.is_empty() {
        request = request.start_after(format!("{}\u{10FFFF}", crate::RESERVED_PREFIX));
    } else {
        request = request.prefix(format!("{}/", prefix.trim_end_matches('/')));
    }
    let out = request.send().await.map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
    Ok(out.contents().is_empty() && out.key_count().unwrap_or(0) == 0)
}

/// Once-only markers: a conditional create (`If-None-Match: *`) of a small object. The first
/// caller to create a key wins; every later caller (a redelivered event, a concurrent invocation)
/// learns that the work was already claimed.
#[derive(Debug, Clone)]
pub struct Markers {
    client: Client,
    bucket: String,
    prefix: String,
}

impl Markers {
    /// Markers under `<RESERVED_PREFIX><namespace>/` of the bucket.
    pub fn new(client: Client, bucket: impl Into<String>, namespace: &str) -> Self {
        Markers { client, bucket: bucket.into(), prefix: format!("{}{namespace}/", crate::RESERVED_PREFIX) }
    }

    pub fn key(&self, name: &str) -> String {
        let safe: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        format!("{}{safe}", self.prefix)
    }

    /// True when this call created the marker (the caller should do the work), false when it existed.
    pub async fn claim(&self, name: &str, body: &str) -> Result<bool, AwsError> {
        let result = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .if_none_match("*")
            .content_type("application/json")
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => {
                let err = AwsError::from_sdk("s3:PutObject", err);
                // 412 PreconditionFailed: it exists. 409 ConditionalRequestConflict: a concurrent
                // writer is creating it right now; either way somebody else owns the work.
                if err.code == "PreconditionFailed"
                    || err.code == "HTTP412"
                    || err.code == "ConditionalRequestConflict"
                    || err.code == "HTTP409"
                {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Gives a claim back (the work failed and should be retried by a later delivery).
    pub async fn release(&self, name: &str) -> Result<(), AwsError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:DeleteObject", e))?;
        Ok(())
    }
}
