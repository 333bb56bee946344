//! Gathers the evidence that the cache works for a finished build: its log, read bounded and
//! scanned as it streams (`build_log`), and the one listing of its cache location already made
//! for the scenario. A log that is disabled, in S3 only, missing or denied is said, never a failure;
//! a transient AWS error fails the invocation so that it is retried.

use super::error::{MonitorError, is_transient};
use super::evidence::{CacheEvidence, LogAccess};
use super::log::build_log::LogScan;
use super::service::{BuildTimeMonitor, CachePlace, transient};
use crate::aws::cache_listing::CacheListing;
use crate::build::BuildFacts;
use crate::error::AwsErrorKind;
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
            Ok((group, stream)) => {
                let mut scan = LogScan::new();
                let mut tail = LogScan::new();
                let limits = self.config.log_limits;
                let read = self
                    .logs
                    .read(&group, &stream, limits, |m, t| scan.event(m, t), |m, t| tail.tail_event(m, t))
                    .await;
                match read {
                    Ok(read) => {
                        info!(
                            action = "read-log",
                            pages = read.pages,
                            bytes = read.bytes,
                            complete = read.complete,
                            "build log read"
                        );
                        let mut found = scan.finish();
                        found.absorb_tail(tail.finish());
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
                }
            }
        };
        Ok(CacheEvidence::new(facts, location, listing, log, found))
    }
}
