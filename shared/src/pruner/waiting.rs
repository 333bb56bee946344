//! A sweep that busy accounts cannot starve. Build-event runs hold the bucket's lease while they
//! prune one location; with builds finishing every few minutes a sweep could find it held every
//! day and never run (orphans, budgets and locations no build touches would never be pruned).
//!
//! So a sweep that finds a build-event run holding the lease says it is waiting (a small document
//! beside the lease, `sweep-waiting.json`, until a time), and waits for that run to end; every
//! build-event run that starts meanwhile yields (its location is the sweep's). A sweep still
//! without the lease when it may wait no longer fails, so that Lambda retries it, and the marker
//! keeps the builds yielding until the retries are over. The sweep that wins clears it.

use super::calls::ApiCalls;
use crate::aws::s3_documents;
use crate::error::AwsError;
use aws_sdk_s3::Client;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tracing::warn;

/// How long a sweep waits for a build-event run's lease within one invocation, at most (the
/// builds yield meanwhile, so only the runs already holding it must end).
pub const SWEEP_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// How long builds keep yielding after a sweep said it waits: beyond its own wait, Lambda's two
/// retries of a failed asynchronous invocation (after about 1 and 2 more minutes, AWS Lambda
/// developer guide, "Error handling and automatic retries"; the template's `MaximumRetryAttempts:
/// 2`). Three waits of 5 minutes and the delays outlast a build-event run's lease (the function's
/// 900 s timeout and a minute of skew).
pub fn marker_span(sweep_wait: std::time::Duration) -> Duration {
    Duration::from_std(sweep_wait).unwrap_or(Duration::minutes(5)) * 3 + Duration::minutes(5)
}

/// The marker: a sweep waits for the lease until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepWaiting {
    pub holder: String,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl SweepWaiting {
    pub fn waiting_at(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }
}

/// Reads and writes the marker of one deployment (`Deployment::sweep_waiting_key`).
#[derive(Debug, Clone)]
pub struct WaitingStore {
    pub client: Client,
    pub bucket: String,
    pub key: String,
}

impl WaitingStore {
    /// The waiting sweep, if one says so now. An unreadable marker is no sweep waiting.
    pub async fn read(&self, now: DateTime<Utc>, calls: &ApiCalls) -> Result<Option<SweepWaiting>, AwsError> {
        calls.add("s3:GetObject", 1);
        let body = match s3_documents::get_document(&self.client, &self.bucket, &self.key).await {
            Ok(body) => body,
            Err(e) if e.code == s3_documents::BODY_READ => None,
            Err(e) => return Err(e),
        };
        let marker = body.and_then(|b| serde_json::from_slice::<SweepWaiting>(&b).ok());
        Ok(marker.filter(|m| m.waiting_at(now)))
    }

    /// Says a sweep waits until `marker.until` (or, with `until` now, that none does any more).
    pub async fn write(&self, marker: &SweepWaiting, calls: &ApiCalls) -> Result<(), AwsError> {
        calls.add("s3:PutObject", 1);
        let body = serde_json::to_vec(marker).unwrap_or_default();
        s3_documents::put_document(&self.client, &self.bucket, &self.key, body).await
    }

    /// Why a build-event run yields, when a sweep waits. A marker that cannot be read is no
    /// sweep waiting: the run goes on (logged).
    pub async fn yield_reason(&self, now: DateTime<Utc>, calls: &ApiCalls) -> Option<String> {
        match self.read(now, calls).await {
            Ok(sweep) => sweep.map(|sweep| {
                format!(
                    "skipped this project's location: a sweep ({}) is waiting for the pruner's lease since {} and prunes it",
                    sweep.holder,
                    sweep.since.to_rfc3339()
                )
            }),
            Err(e) => {
                warn!(action = "lease", error = %e, "cannot read whether a sweep waits: going on");
                None
            }
        }
    }

    /// Says this sweep waits from `now` for `span`; the marker, also when it could not be written
    /// (logged: build-event runs then do not yield).
    pub async fn announce(&self, holder: &str, now: DateTime<Utc>, span: Duration, calls: &ApiCalls) -> SweepWaiting {
        let marker = SweepWaiting { holder: holder.to_owned(), since: now, until: now + span };
        if let Err(e) = self.write(&marker, calls).await {
            warn!(action = "lease", error = %e, "cannot say the sweep waits: build-event runs will not yield");
        }
        marker
    }

    /// The sweep has the lease: builds need not yield any more. `said` is the marker this
    /// invocation wrote; without one, an earlier invocation's is looked for.
    pub async fn clear(&self, said: Option<SweepWaiting>, now: DateTime<Utc>, calls: &ApiCalls) {
        let marker = match said {
            Some(marker) => Some(marker),
            None => self.read(now, calls).await.ok().flatten(),
        };
        let Some(marker) = marker else { return };
        if let Err(e) = self.write(&SweepWaiting { until: now, ..marker }, calls).await {
            warn!(action = "lease", error = %e, "cannot clear the sweep-waiting marker: it expires by itself");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_marker_keeps_builds_yielding_through_the_retries_and_no_longer() {
        let t = Utc.with_ymd_and_hms(2026, 12, 4, 3, 0, 0).unwrap();
        let span = marker_span(SWEEP_WAIT);
        assert_eq!(span, Duration::minutes(20), "three waits of 5 min (the run and two retries) and their delays");
        let marker = SweepWaiting { holder: "sweep".into(), since: t, until: t + span };
        assert!(marker.waiting_at(t + Duration::minutes(19)));
        assert!(!marker.waiting_at(t + span));
        assert!(!SweepWaiting { until: t, ..marker }.waiting_at(t), "cleared");
    }
}
