//! The "cache not effective" notice: after every finished build of a project on the S3 cache, its
//! record is written (`streak`), the project's earlier records are listed (one ListObjectsV2), and
//! a cause shown by enough consecutive builds is notified once per project and cause (a marker
//! `cache-not-effective--<project>--<cause>`). A cause the project recovered from has its marker
//! released, so a relapse is notified again.

use super::error::{MonitorError, is_transient};
use super::evidence::{CacheEvidence, Cause, Signal};
use super::notify_once::{Claim, MARKER_NAMESPACE, claim, publish_and_confirm};
use super::render_cache;
use super::report::{BuildOutcome, CacheNotice, Outcome};
use super::service::{BuildTimeMonitor, CachePlace, transient};
use super::streak::{self, Record};
use crate::aws::s3::Markers;
use crate::aws::s3_records::{first_keys, put_record};
use crate::build::BuildFacts;
use tracing::{info, warn};

/// The marker of one project and cause.
pub fn marker_name(project: &str, cause: Cause) -> String {
    format!("cache-not-effective--{project}--{}", cause.as_str())
}

impl BuildTimeMonitor {
    pub(super) async fn cache_streak(
        &self,
        facts: &BuildFacts,
        evidence: &CacheEvidence,
        place: &CachePlace,
        outcome: &mut BuildOutcome,
    ) -> Result<(), MonitorError> {
        if evidence.problems.0.iter().all(|s| *s == Signal::Unknown) {
            return Ok(()); // not on the S3 cache, or nothing could be told
        }
        let (Some(bucket), Some(build_id), Some(start)) = (&place.bucket, &facts.build_id, facts.start) else {
            outcome.warnings.push("no cache bucket, build id or start time: no record for the streak".into());
            return Ok(());
        };
        let needed = self.config.ineffective_cache_builds;
        let listed = super::cache_records::records_listed(&self.config);
        let records: Vec<Record> =
            match first_keys(&self.s3, bucket, &streak::project_prefix(&facts.project), listed).await {
                Ok(keys) => keys.iter().filter_map(|k| streak::parse_key(&facts.project, k)).collect(),
                Err(e) if is_transient(&e) => return Err(transient(facts, e)),
                Err(e) => {
                    outcome.warnings.push(format!("could not list the project's earlier cache records: {e}"));
                    return Ok(());
                }
            };
        let start_ms = start.timestamp_millis();
        let reached = streak::reached(&records, start_ms, &evidence.problems, needed);
        let recovered = streak::recovered(&records, start_ms, &evidence.problems);
        if self.config.common.dry_run {
            if !reached.is_empty() {
                let notice = render_cache::notice(facts, &reached, needed, evidence);
                outcome.cache_notice = Some(CacheNotice {
                    causes: reached,
                    outcome: Outcome::WouldNotify,
                    subject: Some(notice.subject().to_owned()),
                });
            }
            return Ok(());
        }
        let key = streak::record_key(&facts.project, build_id, start, &evidence.problems);
        let body = serde_json::json!({"project": facts.project, "build_id": build_id, "start": start.to_rfc3339(),
            "problems": evidence.problems.code(), "upload": evidence.upload, "log": evidence.log})
        .to_string();
        match put_record(&self.s3, bucket, &key, &body).await {
            Ok(()) => {}
            Err(e) if is_transient(&e) => return Err(transient(facts, e)),
            Err(e) => outcome.warnings.push(format!("could not write the build's cache record: {e}")),
        }
        let markers = Markers::new(self.s3.clone(), bucket.clone(), MARKER_NAMESPACE);
        for cause in recovered {
            match markers.release(&marker_name(&facts.project, cause)).await {
                Ok(()) => outcome.recovered.push(cause),
                Err(e) => outcome.warnings.push(format!("could not release the {} marker: {e}", cause.as_str())),
            }
        }
        if !reached.is_empty() {
            outcome.cache_notice = Some(self.notify_ineffective(facts, reached, evidence, &markers, outcome).await?);
        }
        Ok(())
    }

    async fn notify_ineffective(
        &self,
        facts: &BuildFacts,
        reached: Vec<Cause>,
        evidence: &CacheEvidence,
        markers: &Markers,
        outcome: &mut BuildOutcome,
    ) -> Result<CacheNotice, MonitorError> {
        let (mut send, mut claimed) = (vec![], vec![]);
        for cause in &reached {
            let name = marker_name(&facts.project, *cause);
            let body = serde_json::json!({"kind": "cache-not-effective", "project": facts.project,
                "cause": cause.as_str(), "build_id": facts.build_id, "at": self.clock.now().to_rfc3339()})
            .to_string();
            match claim(Some(markers), &name, self.clock.now()).await {
                Claim::Claimed => {
                    send.push(*cause);
                    claimed.push((name, body));
                }
                Claim::Taken(_) => {}
                Claim::Unrecorded(why) => {
                    outcome.warnings.push(format!("no once-only marker for {} ({why})", cause.as_str()));
                    send.push(*cause);
                }
                Claim::Retry(error) => return Err(transient(facts, error)),
            }
        }
        if send.is_empty() {
            info!(action = "already-notified", "cache not effective: already notified for every cause");
            return Ok(CacheNotice { causes: reached, outcome: Outcome::AlreadyNotified, subject: None });
        }
        let notice = render_cache::notice(facts, &send, self.config.ineffective_cache_builds, evidence);
        if let Err(error) = publish_and_confirm(&self.publisher, Some(markers), &claimed, &notice).await {
            warn!(action = "notify", error = %error, "could not publish the cache-not-effective notice");
            return Err(MonitorError::Publish {
                build: facts.build_id.clone().unwrap_or(facts.project.clone()),
                kind: "cache-not-effective",
                error: Box::new(error),
            });
        }
        Ok(CacheNotice { causes: send, outcome: Outcome::Notified, subject: Some(notice.subject().to_owned()) })
    }
}
