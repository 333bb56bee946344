//! S3 adapter pieces shared by the functions: bucket reachability and idempotency markers.

use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

/// Whether a bucket can hold a project's cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BucketStatus {
    /// The bucket exists and we may use it; `region` is where S3 says it lives.
    Usable {
        region: Option<String>,
    },
    Missing,
    Forbidden {
        reason: String,
    },
    Unreachable {
        reason: String,
    },
}

/// HeadBucket: existence, permission and region in one call.
pub async fn probe_bucket(client: &Client, bucket: &str) -> BucketStatus {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => BucketStatus::Usable { region: out.bucket_region().map(str::to_owned) },
        Err(err) => {
            let err = AwsError::from_sdk("s3:HeadBucket", err);
            match err.kind {
                AwsErrorKind::NotFound => BucketStatus::Missing,
                AwsErrorKind::AccessDenied => BucketStatus::Forbidden { reason: err.to_string() },
                _ => BucketStatus::Unreachable { reason: err.to_string() },
            }
        }
    }
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
