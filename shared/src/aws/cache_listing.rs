//! One bounded look at a cache location: a single ListObjectsV2 page (up to 1,000 keys) under the
//! location's prefix, summarised as plain data. It tells whether the location is empty and, from
//! the page's LastModified times, whether it held anything before a build started and whether
//! something was written after (`monitor::evidence`). With more than one page of objects
//! (`truncated`), the rest is not looked at: see what that cannot tell in docs/monitor.md.

use crate::error::AwsError;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CacheListing {
    /// Objects on the page.
    pub objects: u32,
    /// More objects exist beyond the page.
    pub truncated: bool,
    /// The oldest and newest LastModified on the page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest: Option<DateTime<Utc>>,
}

/// Lists the first page under `prefix/` of `bucket` (the bucket root when `prefix` is empty, where
/// cache-sentinel's own keys are skipped: they sort before any project key).
pub async fn list_cache_page(client: &Client, bucket: &str, prefix: &str) -> Result<CacheListing, AwsError> {
    let mut request = client.list_objects_v2().bucket(bucket);
    if prefix.is_empty() {
        request = request.start_after(format!("{}\u{10FFFF}", crate::RESERVED_PREFIX));
    } else {
        request = request.prefix(format!("{}/", prefix.trim_end_matches('/')));
    }
    let out = request.send().await.map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
    let times: Vec<DateTime<Utc>> = out
        .contents()
        .iter()
        .filter_map(|o| o.last_modified())
        .filter_map(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
        .collect();
    Ok(CacheListing {
        objects: out.contents().len() as u32,
        truncated: out.is_truncated().unwrap_or(false),
        oldest: times.iter().min().copied(),
        newest: times.iter().max().copied(),
    })
}
