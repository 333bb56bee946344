//! Conditional writes of small objects, the building blocks of a lease: create only if absent
//! (`If-None-Match: *`), read with the ETag, replace only if unchanged (`If-Match: <etag>`). S3
//! evaluates each condition atomically, so of two writers racing on one key exactly one wins.

use crate::error::AwsError;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

/// A document and the ETag S3 gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub body: Vec<u8>,
    pub etag: String,
}

/// Whether a failed conditional write lost a race (the condition did not hold) rather than failed:
/// 412 PreconditionFailed; 409 ConditionalRequestConflict (a concurrent conditional write to the
/// key); 404 for If-Match on a key that no longer exists.
fn lost_race(err: &AwsError) -> bool {
    matches!(
        err.code.as_str(),
        "PreconditionFailed" | "HTTP412" | "ConditionalRequestConflict" | "HTTP409" | "NoSuchKey" | "HTTP404"
    )
}

/// PutObject with `If-None-Match: *`: Some(etag) when this call created the key, None when it existed.
pub async fn create_if_absent(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<Option<String>, AwsError> {
    conditional_put(client.put_object().if_none_match("*"), bucket, key, body).await
}

/// PutObject with `If-Match: <etag>`: Some(new etag) when the key still had that ETag, None when
/// another writer changed (or removed) it first.
pub async fn replace_if_match(
    client: &Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
    etag: &str,
) -> Result<Option<String>, AwsError> {
    conditional_put(client.put_object().if_match(etag), bucket, key, body).await
}

/// Sends a PutObject carrying its condition: Some(new etag) when written, None when the condition
/// failed because another writer got there first.
async fn conditional_put(
    request: aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<Option<String>, AwsError> {
    let result =
        request.bucket(bucket).key(key).content_type("application/json").body(ByteStream::from(body)).send().await;
    match result {
        Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_owned())),
        Err(e) => {
            let err = AwsError::from_sdk("s3:PutObject", e);
            if lost_race(&err) { Ok(None) } else { Err(err) }
        }
    }
}

/// GetObject with its ETag; None when the key does not exist.
pub async fn read_versioned(client: &Client, bucket: &str, key: &str) -> Result<Option<Versioned>, AwsError> {
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) => {
            let err = AwsError::from_sdk("s3:GetObject", err);
            return if err.is(crate::error::AwsErrorKind::NotFound) { Ok(None) } else { Err(err) };
        }
    };
    let etag = out.e_tag().unwrap_or_default().to_owned();
    let body = out.body.collect().await.map_err(|e| {
        AwsError::new(
            "s3:GetObject",
            crate::error::AwsErrorKind::Unreachable,
            super::s3_documents::BODY_READ,
            format!("cannot read the body: {e}"),
        )
    })?;
    Ok(Some(Versioned { body: body.into_bytes().to_vec(), etag }))
}
