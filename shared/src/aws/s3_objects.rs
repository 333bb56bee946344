//! S3 object adapters for the pruner: list a page, delete a batch or one key, read the bucket's
//! versioning and policy. Plain data in and out; every call's failure is an [`AwsError`] naming the operation.
//!
//! Listing asks for `EncodingType=url`: S3 then percent-encodes the keys and prefixes it returns, so
//! a key with characters XML 1.0 cannot carry (control characters) still lists; this module decodes
//! them, the callers only ever see real keys.

use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Delete, EncodingType, ObjectIdentifier};

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
    /// Keys (as S3 encoded them) that did not decode to UTF-8: left out of `objects`, never deleted.
    pub undecodable: Vec<String>,
}

/// What to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListRequest<'a> {
    pub prefix: &'a str,
    pub delimiter: Option<&'a str>,
    pub start_after: Option<&'a str>,
    pub continuation_token: Option<&'a str>,
}

/// One ListObjectsV2 call (1,000 keys at most), keys and prefixes URL-decoded.
pub async fn list_page(client: &Client, bucket: &str, request: ListRequest<'_>) -> Result<ListPage, AwsError> {
    let out = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(request.prefix)
        .set_delimiter(request.delimiter.map(str::to_owned))
        .set_start_after(request.start_after.map(str::to_owned))
        .set_continuation_token(request.continuation_token.map(str::to_owned))
        .encoding_type(EncodingType::Url)
        .max_keys(PAGE_SIZE as i32)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
    // S3 says whether it encoded (an emulator may not honour the request): decode only then.
    let encoded = out.encoding_type().is_some_and(|e| *e == EncodingType::Url);
    let decode = |raw: &str| if encoded { url_decode(raw) } else { Some(raw.to_owned()) };
    let mut page = ListPage::default();
    for o in out.contents() {
        let Some(raw) = o.key() else { continue };
        let Some(key) = decode(raw) else {
            page.undecodable.push(raw.to_owned());
            continue;
        };
        page.objects.push(ListedObject {
            key,
            size: o.size().unwrap_or(0).max(0) as u64,
            last_modified_ms: o.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(i64::MAX),
        });
    }
    for raw in out.common_prefixes().iter().filter_map(|p| p.prefix()) {
        match decode(raw) {
            Some(prefix) => page.prefixes.push(prefix),
            None => page.undecodable.push(raw.to_owned()),
        }
    }
    page.next_token = match (out.is_truncated() == Some(true), out.next_continuation_token()) {
        (false, _) => None,
        (true, Some(token)) => Some(token.to_owned()),
        // Taking it for the last page would end the listing early, silently.
        (true, None) => {
            return Err(AwsError::new(
                "s3:ListObjectsV2",
                AwsErrorKind::Service,
                "TruncatedWithoutToken",
                format!("the page of {:?} is truncated but has no NextContinuationToken", request.prefix),
            ));
        }
    };
    Ok(page)
}

/// Every key under `prefix`, at most `max_pages` pages: the keys, the pages, and whether it ended.
pub async fn list_keys(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    max_pages: u32,
) -> Result<(Vec<String>, u32, bool), AwsError> {
    let (mut keys, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    while pages < max_pages {
        let page = list_page(
            s3,
            bucket,
            ListRequest { prefix, continuation_token: token.as_deref(), ..ListRequest::default() },
        )
        .await?;
        pages += 1;
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next_token {
            Some(next) => token = Some(next),
            None => return Ok((keys, pages, true)),
        }
    }
    Ok((keys, pages, false))
}

/// Decodes S3's `EncodingType=url` form: `%XX` escapes and `+` for a space (S3 encodes a literal
/// `+` as `%2B`). None when the result is not UTF-8 or an escape is malformed.
pub fn url_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether XML 1.0 can carry the key in a DeleteObjects body. It cannot carry most control
/// characters, not even escaped; S3 then rejects the whole request as MalformedXML, so such keys
/// are deleted one by one (DeleteObject puts the key in the URL).
pub fn xml_safe(key: &str) -> bool {
    key.chars()
        .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..))
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
    let delete = Delete::builder()
        .set_objects(Some(identifiers))
        .quiet(true)
        .build()
        .map_err(|e| AwsError::new("s3:DeleteObjects", AwsErrorKind::InvalidInput, "BuildError", e.to_string()))?;
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

/// One DeleteObject call: deleting a key that does not exist succeeds, as S3 documents.
pub async fn delete_object(client: &Client, bucket: &str, key: &str) -> Result<(), AwsError> {
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:DeleteObject", e))?;
    Ok(())
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

/// GetBucketPolicy: the policy document, or None when the bucket has none (`NoSuchBucketPolicy`).
pub async fn bucket_policy(client: &Client, bucket: &str) -> Result<Option<String>, AwsError> {
    match client.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Ok(out.policy().map(str::to_owned)),
        Err(e) => {
            let error = AwsError::from_sdk("s3:GetBucketPolicy", e);
            if error.code == "NoSuchBucketPolicy" { Ok(None) } else { Err(error) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_keys_decode_as_s3_encodes_them() {
        assert_eq!(url_decode("tts/a%20b+c%2Bd").as_deref(), Some("tts/a b c+d"));
        assert_eq!(url_decode("caf%C3%A9/%01x").as_deref(), Some("café/\u{1}x"));
        assert_eq!(url_decode("plain/key-1.tgz").as_deref(), Some("plain/key-1.tgz"));
        assert_eq!(url_decode("bad%2"), None, "a truncated escape");
        assert_eq!(url_decode("bad%zz"), None, "not hex");
        assert_eq!(url_decode("%FF%FE"), None, "not UTF-8");
    }

    #[test]
    fn keys_xml_cannot_carry_are_recognised() {
        assert!(xml_safe("tts/a b&c<d>\"'\t\r\n"));
        assert!(xml_safe("café/日本/🦀"));
        assert!(!xml_safe("tts/\u{1}x"));
        assert!(!xml_safe("tts/\u{1F}"));
        assert!(!xml_safe("tts/\u{FFFE}"));
    }
}
