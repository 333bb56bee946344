//! Gathers the evidence that the cache works for a finished build: its log, read bounded and
//! scanned as it streams (`build_log`), and the one listing of its cache location already made
//! for the scenario. A log that is disabled, in S3 only, missing or denied is said, never a failure;
//! a transient AWS error fails the invocation so that it is retried. For a slow build whose cache
//! work took a minute or more, the log of the project's last build that ran the reused steps times
//! what the cache saved (`cache_value`).

use super::cache_value::{WORTH_WEIGHING_SECONDS, reused, saved_by, weigh};
use super::error::{MonitorError, is_transient};
use super::evidence::{CacheEvidence, LogAccess};
use super::log::build_log::{LogEvidence, LogScan};
use super::log::docker_steps::StepGroup;
use super::service::{BuildTimeMonitor, CachePlace, transient};
use crate::aws::cache_listing::CacheListing;
use crate::aws::logs::{BuildLogs, LogRead, LogReadLimits};
use crate::build::BuildFacts;
use crate::error::AwsError;
use crate::error::AwsErrorKind;
use crate::event::BuildStatus;
use tracing::{info, warn};

impl BuildTimeMonitor {
    pub(super) async fn collect_evidence(
        &self,
        facts: &BuildFacts,
        place: &CachePlace,
        listing: Option<CacheListing>,
    ) -> Result<CacheEvidence, MonitorError> {
        let on_s3 = facts.cache.as_ref().is_some_and(|c| c.is_s3());
        let location = if on_s3 { place.checked.clone() } else { None };
        let listing = if on_s3 { listing } else { None };
        let (log, found) = match LogAccess::source(facts.logs.as_ref()) {
            Err(why) => (why, None),
            Ok((group, stream)) => match scan_log(&self.logs, &group, &stream, self.config.log_limits).await {
                Ok((read, found)) => {
                    info!(
                        action = "read-log",
                        pages = read.pages,
                        bytes = read.bytes,
                        complete = read.complete,
                        "build log read"
                    );
                    (LogAccess::Read(read), Some(found))
                }
                Err(e) if is_transient(&e) => return Err(transient(facts, e)),
                Err(e) => {
                    warn!(action = "read-log", error = %e, "build log not read");
                    let reason = e.to_string();
                    let access = match e.kind {
                        AwsErrorKind::AccessDenied => LogAccess::Denied { reason },
                        AwsErrorKind::NotFound => LogAccess::NotFound { reason },
                        _ => LogAccess::Unreadable { reason },
                    };
                    (access, None)
                }
            },
        };
        Ok(CacheEvidence::new(facts, location, listing, log, found))
    }

    /// Weighs the cache of a slow build (`cache_value`): when its own work took a minute or more
    /// and Docker reused steps, the logs of the project's last successful builds before it (newest
    /// first, at most `EARLIER_LOGS`, each read within the log bounds) are scanned for one that ran
    /// those steps. A log that cannot be read is passed over: the saving is then unknown, said so.
    pub(super) async fn weigh_cache(&self, facts: &BuildFacts, history: &[BuildFacts], evidence: &mut CacheEvidence) {
        let Some(found) = evidence.found.as_ref() else { return };
        let cost = found.cost.clone();
        let Some(current) = found.docker.as_ref().map(|d| d.decisive.clone()) else { return };
        if cost.total_seconds() < WORTH_WEIGHING_SECONDS {
            return;
        }
        let mut earlier: Option<(String, StepGroup)> = None;
        if !reused(&current).is_empty() {
            let mut candidates: Vec<&BuildFacts> = history
                .iter()
                .filter(|b| b.status == BuildStatus::Succeeded && b.build_id != facts.build_id)
                .filter(|b| matches!((b.start, facts.start), (Some(b), Some(f)) if b < f))
                .collect();
            candidates.sort_by_key(|b| std::cmp::Reverse(b.start));
            for build in candidates.into_iter().take(EARLIER_LOGS) {
                let Ok((group, stream)) = LogAccess::source(build.logs.as_ref()) else { continue };
                let mut scan = LogScan::new();
                let read = self.logs.read(&group, &stream, self.config.log_limits, |m, t| scan.event(m, t), |_, _| {});
                if let Err(e) = read.await {
                    warn!(action = "weigh-cache", error = %e, "an earlier build's log not read");
                    continue;
                }
                let Some(docker) = scan.finish().docker else { continue };
                if saved_by(&current, &docker.decisive).1 > 0 {
                    earlier = Some((build.build_id.clone().unwrap_or_default(), docker.decisive));
                    break;
                }
            }
        }
        evidence.value = weigh(&cost, Some(&current), earlier.as_ref().map(|(id, g)| (id.as_str(), g)));
    }
}

/// Earlier builds' logs read at most to find the one that ran the reused steps.
const EARLIER_LOGS: usize = 3;

/// Reads a build log within `limits` and scans it as it streams: its head, and the end of a log
/// longer than the bounds (`build_log::LogScan::tail_event`).
pub(crate) async fn scan_log(
    logs: &BuildLogs,
    group: &str,
    stream: &str,
    limits: LogReadLimits,
) -> Result<(LogRead, LogEvidence), AwsError> {
    let mut scan = LogScan::new();
    let mut tail = LogScan::new();
    let read = logs.read(group, stream, limits, |m, t| scan.event(m, t), |m, t| tail.tail_event(m, t)).await?;
    let mut found = scan.finish();
    found.absorb_tail(tail.finish());
    Ok((read, found))
}
