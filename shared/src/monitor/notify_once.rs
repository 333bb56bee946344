//! At most one notice per build and kind (or per project and cause), exactly one as far as S3 and
//! SNS allow: before publishing, a claim `.cache-sentinel/notified/<name>` is created in the cache
//! bucket with a conditional PutObject (If-None-Match: *) and an expiry `CLAIM_SECONDS` ahead;
//! whoever creates it publishes, then confirms it with the notice's record, which never lapses.
//! Everybody else (EventBridge redeliveries, concurrent invocations, later sweeps) learns it was
//! done, or is being done. A claim left by an invocation that crashed between its claim and its
//! publish lapses, and the retry of that invocation takes it over (a conditional replace on the
//! ETag read) and sends.
//!
//! A claim S3 refuses for a moment (throttling, 5xx) fails the invocation, so that Lambda retries
//! it: sending without the claim would be a duplicate under that retry. A failed publish gives the
//! claims back and fails the invocation. A claim that cannot be written at all (no bucket, no
//! permission) is sent anyway: a possible duplicate is better than a lost notice.

use super::error::is_transient;
use crate::aws::s3::Markers;
use crate::aws::sns::SnsPublisher;
use crate::error::AwsError;
use crate::notify::Notice;
use chrono::{DateTime, Duration, Utc};
use tracing::{error, warn};

/// Marker namespace: `.cache-sentinel/notified/<name>` in the cache bucket.
pub const MARKER_NAMESPACE: &str = "notified";

/// How long a claim holds before another delivery may take it over. A claimant publishes within
/// moments of claiming; Lambda retries a failed asynchronous invocation after one minute, then
/// after two more (AWS Lambda Developer Guide, "Error handling and automatic retries in Lambda"),
/// so the retry of an invocation that crashed after its claim finds the claim lapsed, and sends.
pub const CLAIM_SECONDS: i64 = 30;

/// The result of claiming one marker.
#[derive(Debug)]
pub enum Claim {
    /// This call claimed it: send, then confirm.
    Claimed,
    /// It was sent, or another invocation's claim still holds (the key is given).
    Taken(String),
    /// It could not be recorded (why): send anyway.
    Unrecorded(String),
    /// S3 refused the claim for a moment: fail the invocation, so that it is retried.
    Retry(AwsError),
}

pub async fn claim(markers: Option<&Markers>, name: &str, now: DateTime<Utc>) -> Claim {
    let Some(markers) = markers else {
        return Claim::Unrecorded("no cache bucket known (no CACHE_BUCKET, no account in the event)".into());
    };
    match markers.claim_until(name, now, now + Duration::seconds(CLAIM_SECONDS)).await {
        Ok(true) => Claim::Claimed,
        Ok(false) => Claim::Taken(markers.key(name)),
        Err(e) if is_transient(&e) => Claim::Retry(e),
        Err(e) => {
            warn!(action = "notify", error = %e, "could not record the once-only marker: sending anyway");
            Claim::Unrecorded(e.to_string())
        }
    }
}

/// Publishes; on failure gives back the claims in `claimed` (name, record) so that a retry can
/// send; on success confirms each with its record. A confirmation that fails is logged, not an
/// error: the notice went out, and the claim still holds for `CLAIM_SECONDS`.
pub async fn publish_and_confirm(
    publisher: &SnsPublisher,
    markers: Option<&Markers>,
    claimed: &[(String, String)],
    notice: &Notice,
) -> Result<(), AwsError> {
    if let Err(e) = publisher.publish_logged(notice).await {
        if let Some(markers) = markers {
            for (name, _) in claimed {
                if let Err(release) = markers.release(name).await {
                    error!(action = "release", error = %release, "could not give the claim back: it lapses by itself");
                }
            }
        }
        return Err(e);
    }
    if let Some(markers) = markers {
        for (name, record) in claimed {
            if let Err(e) = markers.record(name, record).await {
                warn!(action = "confirm", error = %e, "sent, but the marker could not be confirmed");
            }
        }
    }
    Ok(())
}
