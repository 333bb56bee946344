//! At most one notice per build and kind (or per project and cause): before publishing, a marker
//! `.cache-sentinel/notified/<name>` is created in the cache bucket with a conditional PutObject
//! (If-None-Match: *); whoever creates it publishes, everybody else (EventBridge redeliveries,
//! concurrent invocations, later sweeps) learns it was done. A failed publish deletes the markers it
//! claimed and fails the invocation, so a retry can send. If a marker cannot be written at all (no
//! bucket, no permission), the notice is sent anyway: a possible duplicate is better than a lost one.

use crate::aws::s3::Markers;
use crate::aws::sns::SnsPublisher;
use crate::error::AwsError;
use crate::notify::Notice;
use tracing::{error, warn};

/// Marker namespace: `.cache-sentinel/notified/<name>` in the cache bucket.
pub const MARKER_NAMESPACE: &str = "notified";

/// The result of claiming one marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This call created it: send.
    Claimed,
    /// It existed (the key is given): already sent.
    Taken(String),
    /// It could not be recorded (why): send anyway.
    Unrecorded(String),
}

pub async fn claim(markers: Option<&Markers>, name: &str, body: &str) -> Claim {
    let Some(markers) = markers else {
        return Claim::Unrecorded("no cache bucket known (no CACHE_BUCKET, no account in the event)".into());
    };
    match markers.claim(name, body).await {
        Ok(true) => Claim::Claimed,
        Ok(false) => Claim::Taken(markers.key(name)),
        Err(e) => {
            warn!(action = "notify", error = %e, "could not record the once-only marker: sending anyway");
            Claim::Unrecorded(e.to_string())
        }
    }
}

/// Publishes; on failure releases the markers `claimed` so that a retry can send.
pub async fn publish_or_release(
    publisher: &SnsPublisher,
    markers: Option<&Markers>,
    claimed: &[String],
    notice: &Notice,
) -> Result<(), AwsError> {
    let Err(e) = publisher.publish_logged(notice).await else { return Ok(()) };
    if let Some(markers) = markers {
        for name in claimed {
            if let Err(release) = markers.release(name).await {
                error!(action = "release", error = %release, "could not release the marker: this notice will not be retried");
            }
        }
    }
    Err(e)
}
