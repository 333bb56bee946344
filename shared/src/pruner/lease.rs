//! One pruner run at a time per bucket and deployment (`deployment`): a lease object under the
//! reserved prefix, taken with a
//! conditional create and given back at the end. Two sweeps at once, or a sweep and build-event
//! runs, then never list and delete the same location together (no doubled counts, no race on the
//! state); the loser reports what it skipped.
//!
//! The lease expires when its holder's invocation must have ended (the Lambda deadline plus a
//! margin for clock skew), so a crashed holder blocks nobody for long. Taking over an expired lease
//! is a conditional replace on the ETag that was read: of two runs taking over at once, one wins.

use super::calls::ApiCalls;
use crate::aws::s3_conditional::{self, Versioned};
use crate::error::{AwsError, AwsErrorKind};
use aws_sdk_s3::Client;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Added to the holder's deadline before anyone may take the lease over (clock skew between hosts).
pub const SKEW: Duration = Duration::seconds(60);

/// Which kind of run holds the lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    Sweep,
    Build,
}

/// The lease document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseBody {
    pub holder: String,
    pub kind: RunKind,
    pub acquired_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default)]
    pub released: bool,
}

impl LeaseBody {
    /// Free: given back, or past its expiry.
    pub fn free_at(&self, now: DateTime<Utc>) -> bool {
        self.released || self.expires_at <= now
    }
}

/// A lease this run holds.
#[derive(Debug, Clone)]
pub struct Lease {
    etag: String,
    body: LeaseBody,
}

impl Lease {
    /// Until when it is this run's.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.body.expires_at
    }
}

/// The outcome of asking for the lease.
#[derive(Debug, Clone)]
pub enum Acquired {
    Won(Lease),
    /// Another run holds it.
    Held(LeaseBody),
}

/// Takes and gives back the bucket's pruner lease.
#[derive(Debug, Clone)]
pub struct LeaseStore {
    pub client: Client,
    pub bucket: String,
    /// This deployment's lease (`Deployment::lease_key`).
    pub key: String,
}

fn unusable(e: serde_json::Error) -> AwsError {
    AwsError::new("s3:PutObject", AwsErrorKind::InvalidInput, "Serialize", e.to_string())
}

impl LeaseStore {
    /// Asks for the lease once: created, taken over when free, or held by another run.
    pub async fn acquire(
        &self,
        holder: &str,
        kind: RunKind,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        calls: &ApiCalls,
    ) -> Result<Acquired, AwsError> {
        let body = LeaseBody { holder: holder.to_owned(), kind, acquired_at: now, expires_at, released: false };
        let bytes = serde_json::to_vec(&body).map_err(unusable)?;
        for _ in 0..2 {
            calls.add("s3:PutObject(lease)", 1);
            if let Some(etag) =
                s3_conditional::create_if_absent(&self.client, &self.bucket, &self.key, bytes.clone()).await?
            {
                return Ok(Acquired::Won(Lease { etag, body }));
            }
            calls.add("s3:GetObject", 1);
            let Some(Versioned { body: held, etag }) =
                s3_conditional::read_versioned(&self.client, &self.bucket, &self.key).await?
            else {
                continue; // given up between our two calls: try to create it again
            };
            // An unreadable lease document is treated as free: it protects nothing.
            let held: Option<LeaseBody> = serde_json::from_slice(&held).ok();
            if let Some(held) = held.as_ref().filter(|h| !h.free_at(now)) {
                return Ok(Acquired::Held(held.clone()));
            }
            calls.add("s3:PutObject(lease)", 1);
            if let Some(etag) =
                s3_conditional::replace_if_match(&self.client, &self.bucket, &self.key, bytes.clone(), &etag).await?
            {
                return Ok(Acquired::Won(Lease { etag, body }));
            }
            // Another run took it over first: read who.
        }
        calls.add("s3:GetObject", 1);
        let held = s3_conditional::read_versioned(&self.client, &self.bucket, &self.key).await?;
        match held.and_then(|v| serde_json::from_slice::<LeaseBody>(&v.body).ok()) {
            Some(held) => Ok(Acquired::Held(held)),
            None => Err(AwsError::new(
                "s3:PutObject",
                AwsErrorKind::Service,
                "LeaseContended",
                format!("the lease {} changed under every attempt", self.key),
            )),
        }
    }

    /// Extends the lease to `expires_at` (a conditional replace on the ETag it holds): Some(the
    /// renewed lease), or None when it is another run's now.
    pub async fn renew(
        &self,
        lease: &Lease,
        expires_at: DateTime<Utc>,
        calls: &ApiCalls,
    ) -> Result<Option<Lease>, AwsError> {
        let body = LeaseBody { expires_at, ..lease.body.clone() };
        calls.add("s3:PutObject(lease)", 1);
        let bytes = serde_json::to_vec(&body).map_err(unusable)?;
        let etag = s3_conditional::replace_if_match(&self.client, &self.bucket, &self.key, bytes, &lease.etag).await?;
        Ok(etag.map(|etag| Lease { etag, body }))
    }

    /// Gives the lease back (a conditional replace: a lease taken over after expiry stays the new
    /// holder's).
    pub async fn release(&self, lease: Lease, now: DateTime<Utc>, calls: &ApiCalls) -> Result<(), AwsError> {
        let body = LeaseBody { released: true, expires_at: now, ..lease.body };
        calls.add("s3:PutObject(lease)", 1);
        let bytes = serde_json::to_vec(&body).map_err(unusable)?;
        s3_conditional::replace_if_match(&self.client, &self.bucket, &self.key, bytes, &lease.etag).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_lease_is_free_once_released_or_expired() {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
        let body = LeaseBody {
            holder: "a".into(),
            kind: RunKind::Sweep,
            acquired_at: t,
            expires_at: t + Duration::minutes(16),
            released: false,
        };
        assert!(!body.free_at(t + Duration::minutes(15)));
        assert!(body.free_at(t + Duration::minutes(16)));
        assert!(LeaseBody { released: true, ..body }.free_at(t));
    }
}
