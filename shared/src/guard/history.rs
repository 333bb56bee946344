//! The heals the guard made of a project, read back from its heal markers (one object per heal
//! under `.cache-sentinel/guard/heal_<project>_<fingerprint>`, written when the heal was claimed):
//! their LastModified is when. One ListObjectsV2 page per project, only for a heal about to be
//! made (and for the audit); a loop stops long before a page fills.

use super::dedup;
use super::run::Run;
use crate::aws::s3::Markers;
use crate::aws::s3_objects::{ListRequest, list_page};
use crate::error::AwsError;
use chrono::{DateTime, Utc};

impl Run<'_> {
    /// When the project was healed (newest page of its markers), empty when the bucket holds none.
    pub async fn heal_times(&self, project: &str) -> Result<Vec<DateTime<Utc>>, AwsError> {
        let Some(markers) = self.markers().await else { return Ok(vec![]) };
        heal_times(&self.guard.s3, &markers, &self.policy.bucket, project).await
    }
}

/// The heal times of `project` among the guard's markers in `bucket`.
pub async fn heal_times(
    s3: &aws_sdk_s3::Client,
    markers: &Markers,
    bucket: &str,
    project: &str,
) -> Result<Vec<DateTime<Utc>>, AwsError> {
    let prefix = markers.key(&dedup::heal_prefix(project));
    let page = list_page(s3, bucket, ListRequest { prefix: &prefix, ..ListRequest::default() }).await?;
    Ok(page
        .objects
        .iter()
        // `heal_<project>_` is also the start of `heal_<project>_v2_...`: only this project's own.
        .filter(|o| o.key.strip_prefix(&prefix).is_some_and(dedup::is_fingerprint))
        .filter_map(|o| DateTime::from_timestamp_millis(o.last_modified_ms))
        .collect())
}
