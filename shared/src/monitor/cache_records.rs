//! A project's cache records read back, for anyone who asks where its cache stands (the audit):
//! one ListObjectsV2 of the project's records, read from their keys alone (`streak`), the same
//! listing the monitor makes after each build.

use super::MonitorConfig;
use super::streak::{self, CacheStanding, Record};
use crate::aws::s3_records::first_keys;
use crate::error::AwsError;

/// How many records one listing reads: enough for the longest streak, with builds that could not
/// tell in between (the monitor lists as many).
pub fn records_listed(config: &MonitorConfig) -> i32 {
    (config.ineffective_cache_builds as i32 * 10 + 10).min(1000)
}

/// Where `project`'s cache stands by the records the monitor keeps in `bucket`.
pub async fn read_standing(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    project: &str,
    config: &MonitorConfig,
) -> Result<CacheStanding, AwsError> {
    let keys = first_keys(s3, bucket, &streak::project_prefix(project), records_listed(config)).await?;
    let records: Vec<Record> = keys.iter().filter_map(|k| streak::parse_key(project, k)).collect();
    Ok(streak::standing(&records, config.ineffective_cache_builds))
}
