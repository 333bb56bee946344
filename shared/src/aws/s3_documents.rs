//! Small documents the functions keep in the cache bucket under the reserved prefix (the pruner's
//! state): read and write whole objects as bytes.

use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

/// GetObject: the body, or None when the key does not exist.
pub async fn get_document(client: &Client, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
    let out = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => out,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) => {
            let err = AwsError::from_sdk("s3:GetObject", err);
            return if err.is(AwsErrorKind::NotFound) { Ok(None) } else { Err(err) };
        }
    };
    let body = out.body.collect().await.map_err(|e| {
        AwsError::new("s3:GetObject", AwsErrorKind::Unreachable, BODY_READ, format!("cannot read the body: {e}"))
    })?;
    Ok(Some(body.into_bytes().to_vec()))
}

/// The error code of a GetObject whose body could not be read.
pub const BODY_READ: &str = "BodyRead";

/// PutObject of a JSON document.
pub async fn put_document(client: &Client, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), AwsError> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:PutObject", e))?;
    Ok(())
}
