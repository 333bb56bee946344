//! The digest, run by the monitor on its own schedule (`crate::event::digest_request`): gathered
//! (`crate::digest::gather`), decided (`crate::digest::digest`), written (`crate::digest::render`)
//! and sent once per account, region and window (a once-only marker, as the monitor's other
//! notices), so a redelivered or retried request never sends a second email. In dry run it is
//! written and returned, not sent.

use super::error::{MonitorError, is_transient};
use super::notify_once::{Claim, MARKER_NAMESPACE, claim, publish_and_confirm};
use super::report::Outcome;
use super::service::BuildTimeMonitor;
use crate::aws::s3::Markers;
use crate::digest::gather::{Reading, Sources, gather};
use crate::digest::{digest, render};
use crate::event::digest_request::DigestRequest;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, warn};

/// What a digest run did.
#[derive(Debug, Clone, Serialize)]
pub struct DigestReport {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub outcome: Outcome,
    /// Why it was not sent: a permanent AWS refusal while gathering it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The email's text, in dry run (what would have been sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Projects with a line, and those with nothing to say.
    pub projects: usize,
    pub quiet: usize,
    pub builds: usize,
    pub slow: usize,
    pub minutes_over: f64,
    pub cost_usd: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_pruned: Option<u64>,
    pub reading: Reading,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl BuildTimeMonitor {
    pub(super) async fn digest(&self, request: &DigestRequest) -> Result<DigestReport, MonitorError> {
        let (from, to) = request.window(self.clock.now());
        let region = request.region.as_deref().unwrap_or(&self.region);
        let bucket = self.config.common.layout.resolve_bucket(request.account.as_deref(), region);
        let sources = Sources {
            codebuild: &self.codebuild,
            s3: &self.s3,
            config: &self.config,
            bucket: bucket.as_deref(),
            account: request.account.as_deref(),
            region,
        };
        let mut report = DigestReport {
            from,
            to,
            outcome: Outcome::Refused,
            refused: None,
            subject: None,
            body: None,
            projects: 0,
            quiet: 0,
            builds: 0,
            slow: 0,
            minutes_over: 0.0,
            cost_usd: 0.0,
            bytes_pruned: None,
            reading: Reading::default(),
            warnings: vec![],
        };
        let gathered = match gather(&sources, from, to).await {
            Ok(gathered) => gathered,
            Err(e) if is_transient(&e) => return Err(MonitorError::Digest(Box::new(e))),
            Err(e) => {
                warn!(action = "refuse", error = %e, "the digest could not be gathered");
                report.refused = Some(format!("the digest could not be gathered: {e}"));
                return Ok(report);
            }
        };
        let mut week = digest(gathered.weeks, &self.config.compute_prices, from, to);
        week.quiet = gathered.quiet;
        // Every location's, counted once (projects sharing a location each show it).
        week.bytes_pruned = gathered.pruned;
        week.notes = gathered.reading.notes.clone();
        let notice = render::notice(&week);
        report.subject = Some(notice.subject().to_owned());
        report.projects = week.projects.len();
        report.quiet = week.quiet;
        (report.builds, report.slow, report.minutes_over, report.cost_usd) =
            (week.builds, week.slow, week.minutes_over, week.cost_usd);
        report.bytes_pruned = week.bytes_pruned;
        report.reading = gathered.reading;
        if self.config.common.dry_run {
            info!(action = "would-notify", subject = %notice.subject(), "dry run: digest written, not sent");
            report.outcome = Outcome::WouldNotify;
            report.body = Some(notice.body().to_owned());
            return Ok(report);
        }
        let markers = bucket.map(|b| Markers::new(self.s3.clone(), b, MARKER_NAMESPACE));
        let account = request.account.as_deref().unwrap_or("-");
        let name = format!("digest--{account}--{region}--{}--{}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"));
        let record = serde_json::json!({"kind": "digest", "from": from, "to": to, "at": self.clock.now()}).to_string();
        let claimed = match claim(markers.as_ref(), &name, self.clock.now()).await {
            Claim::Claimed => vec![(name, record)],
            Claim::Taken(key) => {
                info!(action = "skip", marker = %key, "this window's digest was already sent");
                report.outcome = Outcome::AlreadyNotified;
                return Ok(report);
            }
            Claim::Unrecorded(why) => {
                report.warnings.push(format!("no once-only marker ({why}): a redelivery may send this again"));
                vec![]
            }
            Claim::Retry(error) => return Err(MonitorError::Digest(Box::new(error))),
        };
        publish_and_confirm(&self.publisher, markers.as_ref(), &claimed, &notice).await.map_err(|error| {
            MonitorError::Publish { build: format!("digest {from} to {to}"), kind: "digest", error: Box::new(error) }
        })?;
        info!(action = "notify", subject = %notice.subject(), "digest sent");
        report.outcome = Outcome::Notified;
        Ok(report)
    }
}
