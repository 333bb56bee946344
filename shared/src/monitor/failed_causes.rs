//! A FAILED (or FAULT) build whose log names what broke (`log::causes`: a registry or S3 cache
//! export refused, the docker driver, Docker Hub's pull limit, a full disk) gets one notice per
//! project, cause and day: the next builds will fail or start cold the same way, and a failure
//! alone says nothing about why. It is never a slow-build notice. The day is the build's start
//! (UTC), so a redelivery the next morning is still the same day's; a marker per cause
//! (`notify_once`) makes it once across retries, redeliveries and concurrent invocations. A slow
//! pull only slows builds and is left to the slow-build notice; a stale cache (`stale_cache`, a
//! pure decision on the history) is named here too.

use super::error::MonitorError;
use super::log::causes::{Cause, CauseKind};
use super::notify_once::{Claim, MARKER_NAMESPACE, claim, publish_and_confirm};
use super::render_cache::failed_cause_notice;
use super::report::{BuildOutcome, CauseNotice, Outcome};
use super::service::{BuildTimeMonitor, CachePlace, transient};
use crate::aws::s3::Markers;
use crate::build::BuildFacts;
use crate::event::BuildStatus;
use tracing::info;

impl BuildTimeMonitor {
    pub(super) async fn notify_failed_causes(
        &self,
        facts: &BuildFacts,
        place: &CachePlace,
        history: Option<&[BuildFacts]>,
        outcome: &mut BuildOutcome,
    ) -> Result<(), MonitorError> {
        if !matches!(facts.status, BuildStatus::Failed | BuildStatus::Fault) {
            return Ok(());
        }
        let found: Vec<Cause> = outcome
            .evidence
            .as_ref()
            .and_then(|e| e.found.as_ref())
            .map(|f| f.causes.iter().filter(|c| c.kind.breaks()).cloned().collect())
            .unwrap_or_default();
        let found: Vec<Cause> = found.into_iter().chain(stale_cache(facts, history, outcome)).collect();
        if found.is_empty() {
            return Ok(());
        }
        let day = facts.start.unwrap_or_else(|| self.clock.now()).format("%Y-%m-%d").to_string();
        if self.config.common.dry_run {
            let notice = failed_cause_notice(facts, &found, &day);
            info!(action = "would-notify", subject = %notice.subject(), "dry run: failed build's causes, notice not sent");
            outcome.cause_notice = Some(CauseNotice {
                sent: found.iter().map(|c| c.kind).collect(),
                already: vec![],
                outcome: Outcome::WouldNotify,
                subject: Some(notice.subject().to_owned()),
            });
            return Ok(());
        }
        let markers = place.bucket.as_ref().map(|b| Markers::new(self.s3.clone(), b.clone(), MARKER_NAMESPACE));
        let (mut new, mut already, mut claimed) = (vec![], vec![], vec![]);
        for cause in &found {
            let name = format!("failed-cause--{}--{}--{day}", cause.kind.as_str(), facts.project);
            let body =
                serde_json::json!({"kind": "failed-cause", "cause": cause.kind.as_str(), "project": facts.project,
                "build_id": facts.build_id, "day": day, "at": self.clock.now().to_rfc3339()})
                .to_string();
            match claim(markers.as_ref(), &name, self.clock.now()).await {
                Claim::Claimed => {
                    claimed.push((name, body));
                    new.push(cause.clone());
                }
                Claim::Taken(_) => already.push(cause.kind),
                Claim::Unrecorded(why) => {
                    outcome.warnings.push(format!("no once-only marker ({why}): a redelivery may send this again"));
                    new.push(cause.clone());
                }
                // The claims made so far lapse; the retry takes them over.
                Claim::Retry(error) => return Err(transient(facts, error)),
            }
        }
        if new.is_empty() {
            info!(action = "already-notified", "every cause of this failed build was notified today");
            outcome.cause_notice =
                Some(CauseNotice { sent: vec![], already, outcome: Outcome::AlreadyNotified, subject: None });
            return Ok(());
        }
        let notice = failed_cause_notice(facts, &new, &day);
        publish_and_confirm(&self.publisher, markers.as_ref(), &claimed, &notice).await.map_err(|error| {
            MonitorError::Publish {
                build: facts.build_id.clone().unwrap_or(facts.project.clone()),
                kind: "failed-cause",
                error: Box::new(error),
            }
        })?;
        info!(action = "notify", subject = %notice.subject(), "failed build's causes notified");
        outcome.cause_notice = Some(CauseNotice {
            sent: new.iter().map(|c| c.kind).collect(),
            already,
            outcome: Outcome::Notified,
            subject: Some(notice.subject().to_owned()),
        });
        Ok(())
    }
}

/// A stale cache: this FAILED build restored the S3 cache, and the build before it succeeded on the
/// same source version, so what the restore brought back is the likely difference. None without
/// the history, a restore, or a source version to compare.
pub fn stale_cache(facts: &BuildFacts, history: Option<&[BuildFacts]>, outcome: &BuildOutcome) -> Option<Cause> {
    let restored = outcome.evidence.as_ref()?.found.as_ref()?.restored;
    let source = facts.source_version.as_deref()?;
    let start = facts.start?;
    let previous = history?.iter().filter(|b| b.start.is_some_and(|s| s < start)).max_by_key(|b| b.start)?;
    let same = previous.status == BuildStatus::Succeeded && previous.source_version.as_deref() == Some(source);
    (restored && same).then(|| Cause {
        kind: CauseKind::StaleCache,
        line: format!(
            "restored the S3 cache (\"Unarchiving cache...\") and ended {}; build {} succeeded on the same source version {source}",
            facts.status,
            previous.build_id.as_deref().unwrap_or("(no id)")
        ),
        count: 1,
        seconds: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::evidence::{CacheEvidence, LogAccess};
    use crate::monitor::log::build_log::LogScan;
    use chrono::{Duration, TimeZone, Utc};

    fn build(id: &str, status: BuildStatus, minutes: i64, source: &str) -> BuildFacts {
        let mut b = BuildFacts::new("tts", status);
        b.build_id = Some(id.into());
        b.start = Some(Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap() + Duration::minutes(minutes));
        b.source_version = Some(source.into());
        b
    }

    fn outcome_with(facts: &BuildFacts, restored: bool) -> BuildOutcome {
        let mut scan = LogScan::new();
        if restored {
            scan.line("[Container] 2026/11/20 10:00:00 Downloading S3 cache...", 0);
            scan.line("[Container] 2026/11/20 10:00:30 Unarchiving cache...", 0);
        }
        let evidence = CacheEvidence::new(facts, None, None, LogAccess::NoStream, Some(scan.finish()));
        let mut o = BuildOutcome::new(
            "tts",
            facts.build_id.clone(),
            facts.status.clone(),
            Outcome::Unsuccessful,
            String::new(),
        );
        o.evidence = Some(evidence);
        o
    }

    #[test]
    fn a_failure_after_a_restore_of_a_source_that_built_is_a_stale_cache() {
        let failed = build("tts:3", BuildStatus::Failed, 60, "abc");
        let history =
            [build("tts:2", BuildStatus::Succeeded, 30, "abc"), build("tts:1", BuildStatus::Failed, 0, "abc")];
        let cause = stale_cache(&failed, Some(&history), &outcome_with(&failed, true)).expect("stale");
        assert_eq!(cause.kind, CauseKind::StaleCache);
        assert!(cause.line.contains("build tts:2 succeeded on the same source version abc"), "{}", cause.line);
        // Not without a restore, a success before it, or the same source.
        assert_eq!(stale_cache(&failed, Some(&history), &outcome_with(&failed, false)), None);
        let changed = [build("tts:2", BuildStatus::Succeeded, 30, "def")];
        assert_eq!(stale_cache(&failed, Some(&changed), &outcome_with(&failed, true)), None);
        let failed_before =
            [build("tts:2", BuildStatus::Failed, 30, "abc"), build("tts:1", BuildStatus::Succeeded, 0, "abc")];
        assert_eq!(stale_cache(&failed, Some(&failed_before), &outcome_with(&failed, true)), None);
        assert_eq!(stale_cache(&failed, None, &outcome_with(&failed, true)), None);
    }
}
