//! A FAILED (or FAULT) build whose log names what broke (`log::causes`: a registry or S3 cache
//! export refused, the docker driver, Docker Hub's pull limit, a full disk) gets one notice per
//! project, cause and day: the next builds will fail or start cold the same way, and a failure
//! alone says nothing about why. It is never a slow-build notice. The day is the build's start
//! (UTC), so a redelivery the next morning is still the same day's; a marker per cause
//! (`notify_once`) makes it once across retries, redeliveries and concurrent invocations.

use super::error::MonitorError;
use super::notify_once::{Claim, MARKER_NAMESPACE, claim, publish_or_release};
use super::render_cache::failed_cause_notice;
use super::report::{BuildOutcome, CauseNotice, Outcome};
use super::service::{BuildTimeMonitor, CachePlace};
use crate::aws::s3::Markers;
use crate::build::BuildFacts;
use crate::event::BuildStatus;
use tracing::info;

impl BuildTimeMonitor {
    pub(super) async fn notify_failed_causes(
        &self,
        facts: &BuildFacts,
        place: &CachePlace,
        outcome: &mut BuildOutcome,
    ) -> Result<(), MonitorError> {
        if !matches!(facts.status, BuildStatus::Failed | BuildStatus::Fault) {
            return Ok(());
        }
        let found = outcome.evidence.as_ref().and_then(|e| e.found.as_ref()).map(|f| f.causes.clone());
        let Some(found) = found.filter(|c| !c.is_empty()) else { return Ok(()) };
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
            match claim(markers.as_ref(), &name, &body).await {
                Claim::Claimed => {
                    claimed.push(name);
                    new.push(cause.clone());
                }
                Claim::Taken(_) => already.push(cause.kind),
                Claim::Unrecorded(why) => {
                    outcome.warnings.push(format!("no once-only marker ({why}): a redelivery may send this again"));
                    new.push(cause.clone());
                }
            }
        }
        if new.is_empty() {
            info!(action = "already-notified", "every cause of this failed build was notified today");
            outcome.cause_notice =
                Some(CauseNotice { sent: vec![], already, outcome: Outcome::AlreadyNotified, subject: None });
            return Ok(());
        }
        let notice = failed_cause_notice(facts, &new, &day);
        publish_or_release(&self.publisher, markers.as_ref(), &claimed, &notice).await.map_err(|error| {
            MonitorError::Publish {
                build: facts.build_id.clone().unwrap_or(facts.project.clone()),
                kind: "failed-cause",
                error,
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
