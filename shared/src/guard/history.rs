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

/// One heal: when, and the fingerprint of the cache it replaced (None for markers written before
/// it was recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Healed {
    pub at: DateTime<Utc>,
    pub replaced: Option<String>,
}

impl Run<'_> {
    /// The project's heals (the first page of its markers), empty when the bucket holds none.
    pub async fn heals(&self, project: &str) -> Result<Vec<Healed>, AwsError> {
        let Some(markers) = self.markers().await else { return Ok(vec![]) };
        heals(&self.guard.s3, &markers, &self.policy.bucket, project).await
    }
}

/// The heals of `project` among the guard's markers in `bucket`.
pub async fn heals(
    s3: &aws_sdk_s3::Client,
    markers: &Markers,
    bucket: &str,
    project: &str,
) -> Result<Vec<Healed>, AwsError> {
    let prefix = markers.key(&dedup::heal_prefix(project));
    let page = list_page(s3, bucket, ListRequest { prefix: &prefix, ..ListRequest::default() }).await?;
    Ok(page
        .objects
        .iter()
        .filter_map(|o| {
            // `heal_<project>_` is also the start of `heal_<project>_v2_...`: only this project's own.
            let replaced = dedup::heal_setting(o.key.strip_prefix(&prefix)?)?;
            let at = DateTime::from_timestamp_millis(o.last_modified_ms)?;
            Some(Healed { at, replaced: replaced.map(str::to_owned) })
        })
        .collect())
}
