//! S3 adapter pieces shared by the functions: bucket reachability and idempotency markers.

use super::s3_conditional::{create_if_absent, read_versioned, replace_if_match};
use crate::error::AwsError;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};

/// HeadBucket: whether the bucket exists and may be used (Ok), and the region S3 says it lives in.
pub async fn head_bucket(client: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    let out = client.head_bucket().bucket(bucket).send().await.map_err(|e| AwsError::from_sdk("s3:HeadBucket", e))?;
    Ok(out.bucket_region().map(str::to_owned))
}

/// A bucket's default encryption, as far as a build writing to it depends on it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "encryption", rename_all = "snake_case")]
pub enum BucketEncryption {
    /// SSE-S3 (AES256), or no default encryption configured: nothing beyond S3 permissions.
    S3Managed,
    /// SSE-KMS (or DSSE-KMS) with `key` (an ARN, a key id or an alias, as configured), or the AWS
    /// managed key `aws/s3` when none is named.
    Kms { key: Option<String> },
}

/// GetBucketEncryption: the default encryption of the bucket's new objects (what a cache upload
/// gets). A bucket without a configuration (ServerSideEncryptionConfigurationNotFoundError) is SSE-S3.
pub async fn bucket_encryption(client: &Client, bucket: &str) -> Result<BucketEncryption, AwsError> {
    let out = match client.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk("s3:GetBucketEncryption", e);
            return if e.code == "ServerSideEncryptionConfigurationNotFoundError" {
                Ok(BucketEncryption::S3Managed)
            } else {
                Err(e)
            };
        }
    };
    let default = out
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().iter().find_map(|r| r.apply_server_side_encryption_by_default()));
    Ok(match default {
        Some(d) if d.sse_algorithm().as_str().starts_with("aws:kms") => {
            BucketEncryption::Kms { key: d.kms_master_key_id().filter(|k| !k.is_empty()).map(str::to_owned) }
        }
        _ => BucketEncryption::S3Managed,
    })
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
        let created = create_if_absent(&self.client, &self.bucket, &self.key(name), body.as_bytes().to_vec()).await?;
        Ok(created.is_some())
    }

    /// A claim that lapses at `expires_at`: true when this call created the marker, or renewed one
    /// whose time is up (a conditional overwrite, `If-Match` on the ETag read, so that of several
    /// concurrent renewals exactly one wins); false while an earlier claim holds.
    pub async fn claim_until(
        &self,
        name: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, AwsError> {
        let body =
            serde_json::json!({ "expires_at": expires_at.to_rfc3339(), "claimed_at": now.to_rfc3339() }).to_string();
        if self.claim(name, &body).await? {
            return Ok(true);
        }
        let key = self.key(name);
        let Some(existing) = read_versioned(&self.client, &self.bucket, &key).await? else {
            // Released between our create and this read: one more create decides.
            return self.claim(name, &body).await;
        };
        if !marker_expired(&existing.body, now) || existing.etag.is_empty() {
            return Ok(false);
        }
        let renewed = replace_if_match(&self.client, &self.bucket, &key, body.into_bytes(), &existing.etag).await?;
        Ok(renewed.is_some())
    }

    /// The marker's body and ETag, None when there is none.
    pub async fn read(&self, name: &str) -> Result<Option<crate::aws::s3_conditional::Versioned>, AwsError> {
        read_versioned(&self.client, &self.bucket, &self.key(name)).await
    }

    /// Creates the marker with `body` when absent (Some(ETag)), or replaces it when its ETag is still
    /// `etag`; None when another writer came first.
    pub async fn write_if(&self, name: &str, body: &str, etag: Option<&str>) -> Result<Option<String>, AwsError> {
        let key = self.key(name);
        let bytes = body.as_bytes().to_vec();
        match etag {
            None => create_if_absent(&self.client, &self.bucket, &key, bytes).await,
            Some(etag) => replace_if_match(&self.client, &self.bucket, &key, bytes, etag).await,
        }
    }

    /// Writes the marker's final record (no `expires_at`: it never lapses), over a claim.
    pub async fn record(&self, name: &str, body: &str) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("s3:PutObject", e))?;
        Ok(())
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

/// Whether an expiring marker's time is up. A marker without a readable `expires_at` (written by
/// [`Markers::claim`], or damaged) never expires: when in doubt, do not repeat the work.
fn marker_expired(body: &[u8], now: DateTime<Utc>) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("expires_at").and_then(|e| e.as_str()).map(str::to_owned))
        .and_then(|e| DateTime::parse_from_rfc3339(&e).ok())
        .is_some_and(|expires| expires.with_timezone(&Utc) <= now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_markers_with_a_past_expiry_have_expired() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z").unwrap().with_timezone(&Utc);
        assert!(marker_expired(br#"{"expires_at":"2026-11-25T11:59:59+00:00"}"#, now));
        assert!(marker_expired(br#"{"expires_at":"2026-11-25T12:00:00Z"}"#, now));
        assert!(!marker_expired(br#"{"expires_at":"2026-11-25T12:00:01Z"}"#, now));
        assert!(!marker_expired(br#"{"build":"x"}"#, now), "the monitor's markers never expire");
        assert!(!marker_expired(b"not json", now));
    }
}
