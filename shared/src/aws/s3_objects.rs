//! S3 object adapters for the pruner: list a page, delete a batch, read the bucket's versioning.
//! Plain data in and out; every call's failure is an [`AwsError`] naming the operation.

use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

/// ListObjectsV2 returns at most 1,000 keys a page; DeleteObjects takes at most 1,000 keys.
pub const PAGE_SIZE: usize = 1000;

/// One listed object: key, size in bytes, LastModified in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    /// `i64::MAX` when S3 gave no timestamp: such an object looks brand new and is never old.
    pub last_modified_ms: i64,
}

/// One ListObjectsV2 page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    pub objects: Vec<ListedObject>,
    /// CommonPrefixes (with a delimiter).
    pub prefixes: Vec<String>,
    /// The continuation token of the next page; None on the last page.
    pub next_token: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListRequest<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub start_after: Option<&'a str>,
    pub continuation_token: Option<&'a str>,
}

/// One ListObjectsV2 call (1,000 keys at most).
pub async fn list_page(client: &Client, bucket: &str, request: ListRequest<'_>) -> Result<ListPage, AwsError> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(request.prefix)
        .set_delimiter(request.delimiter.map(str::to_owned))
        .set_start_after(request.start_after.map(str::to_owned))
        .set_continuation_token(request.continuation_token.map(str::to_owned))
        .max_keys(PAGE_SIZE as i32)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
    let objects = out
        .contents()
        .iter()
        .filter_map(|o| {
            Some(ListedObject {
                key: o.key()?.to_owned(),
                size: o.size().unwrap_or(0).max(0) as u64,
                last_modified_ms: o.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(i64::MAX),
            })
        })
        .collect();
    let prefixes = out.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_owned)).collect();
    let next_token =
        if out.is_truncated() == Some(true) { out.next_continuation_token().map(str::to_owned) } else { None };
    Ok(ListPage { objects, prefixes, next_token })
}

/// A key DeleteObjects reported in `Errors` (the call itself answered 200).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFailure {
    pub key: String,
    pub code: String,
    pub message: String,
}

/// One DeleteObjects call in Quiet mode: every key not in the returned failures was deleted.
pub async fn delete_objects(client: &Client, bucket: &str, keys: &[String]) -> Result<Vec<KeyFailure>, AwsError> {
    let identifiers: Vec<ObjectIdentifier> =
        keys.iter().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
    let delete = Delete::builder().set_objects(Some(identifiers)).quiet(true).build().map_err(|e| AwsError {
        operation: "s3:DeleteObjects",
        kind: AwsErrorKind::InvalidInput,
        code: "BuildError".into(),
        message: e.to_string(),
    })?;
    let out = client
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:DeleteObjects", e))?;
    Ok(out
        .errors()
        .iter()
        .filter_map(|e| {
            Some(KeyFailure {
                key: e.key()?.to_owned(),
                code: e.code().unwrap_or("Unknown").to_owned(),
                message: e.message().unwrap_or_default().to_owned(),
            })
        })
        .collect())
}

/// GetBucketVersioning: "Enabled", "Suspended", or "Disabled" when the bucket never had versioning.
pub async fn bucket_versioning(client: &Client, bucket: &str) -> Result<String, AwsError> {
    let out = client
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:GetBucketVersioning", e))?;
    Ok(out.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "Disabled".into()))
}
