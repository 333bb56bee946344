//! Carries findings to Security Hub: reads what is open (one listing of the subject's, or every
//! subject's, records in the cache bucket), decides (`open::decide`), imports the findings that
//! changed in batches of 100, then records what was imported (a new record, the stale one
//! deleted) and sets the workflow of the archived ones RESOLVED (BatchUpdateFindings). A finding Security Hub refused is reported and not recorded, so the next run tries it
//! again; a record that cannot be written is reported too. Dry run: decided and reported, nothing
//! imported or recorded.

use super::asff::{Place, Subject, finding_id, to_asff};
use super::open::{self, Observation, OpenFinding};
use crate::aws::s3_objects::{delete_object, list_keys};
use crate::aws::s3_records::put_record;
use crate::aws::securityhub::{FailedFinding, SecurityHub};
use crate::error::AwsError;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// At most this many pages of open-finding records (100,000 open findings).
const MAX_PAGES: u32 = 100;

/// Where findings go and where their records live.
pub struct FindingsSink {
    pub hub: SecurityHub,
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    pub place: Place,
    pub dry_run: bool,
}

/// What a run did with its findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FindingsReport {
    /// Finding ids imported active (new, or seen again after a day) and archived.
    pub imported: Vec<String>,
    pub archived: Vec<String>,
    /// Decided, not imported: dry run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_import: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<FailedFinding>,
    /// Calls that failed (the listing, a record): said, and retried by the next run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl FindingsReport {
    /// Nothing was sent, and why (the account or the bucket is not known).
    pub fn not_sent(why: &str) -> Self {
        FindingsReport { errors: vec![why.to_owned()], ..FindingsReport::default() }
    }
}

impl FindingsSink {
    pub fn new(hub: &SecurityHub, s3: &aws_sdk_s3::Client, bucket: &str, place: Place, dry_run: bool) -> Self {
        FindingsSink { hub: hub.clone(), s3: s3.clone(), bucket: bucket.to_owned(), place, dry_run }
    }

    /// Reports `observations`. When they all concern one subject (a build's run, the pruner's
    /// bucket), only its open findings are listed; otherwise every one (a sweep). The error is a
    /// transient failure (the caller fails its invocation so that it is retried); a refusal
    /// (Security Hub not enabled, access denied) is said in the report.
    pub async fn report(&self, observations: &[Observation], now: DateTime<Utc>) -> Result<FindingsReport, AwsError> {
        match self.carry_out(observations, now).await {
            Err(e) if !e.is_transient() => {
                tracing::warn!(action = "findings", error = %e, "Security Hub refused the findings");
                Ok(FindingsReport::not_sent(&format!("not imported: {e}")))
            }
            other => other,
        }
    }

    async fn carry_out(&self, observations: &[Observation], now: DateTime<Utc>) -> Result<FindingsReport, AwsError> {
        let mut report = FindingsReport::default();
        let Some(first) = observations.first() else { return Ok(report) };
        let subject = observations.iter().all(|o| o.subject() == first.subject()).then(|| first.subject());
        let open = match self.open(subject).await {
            Ok(open) => open,
            Err(e) => {
                // Without knowing what is open, nothing is archived and new findings may repeat.
                report.errors.push(format!("open findings not read: {e}"));
                vec![]
            }
        };
        let steps = open::decide(&self.place, observations, &open, now);
        let ids = |pick: bool| -> Vec<String> {
            steps
                .iter()
                .filter(|s| s.finding.resolved == pick)
                .map(|s| finding_id(&self.place, s.finding.kind, &s.finding.subject))
                .collect()
        };
        if self.dry_run {
            report.would_import = ids(false).into_iter().chain(ids(true)).collect();
            return Ok(report);
        }
        let asff: Vec<_> = steps.iter().map(|s| to_asff(&self.place, &s.finding)).collect();
        let imported = self.hub.import(&asff).await?;
        let refused: std::collections::HashSet<&str> = imported.failed.iter().map(|f| f.id.as_str()).collect();
        for step in &steps {
            let id = finding_id(&self.place, step.finding.kind, &step.finding.subject);
            if refused.contains(id.as_str()) {
                continue;
            }
            if let Some(record) = &step.record
                && let Err(e) = put_record(&self.s3, &self.bucket, record, "{}").await
            {
                report.errors.push(format!("{id}: imported, but its record was not written: {e}"));
            }
            for stale in step.stale.iter().filter(|k| step.record.as_ref() != Some(*k)) {
                if let Err(e) = delete_object(&self.s3, &self.bucket, stale).await {
                    report.errors.push(format!("{id}: its old record was not deleted: {e}"));
                }
            }
            if step.finding.resolved { report.archived.push(id) } else { report.imported.push(id) }
        }
        report.failed = imported.failed;
        // Archived is not resolved: a provider's import cannot change a finding's workflow once
        // it exists (AWS: BatchImportFindings), so the archived ones are set RESOLVED after it.
        if !report.archived.is_empty() {
            let product = self.place.product_arn();
            let ids: Vec<(String, String)> = report.archived.iter().map(|id| (id.clone(), product.clone())).collect();
            match self.hub.resolve(&ids).await {
                Ok(failed) => report.errors.extend(failed.into_iter().map(|f| {
                    format!("{}: archived, but its workflow not set RESOLVED: {} {}", f.id, f.code, f.message)
                })),
                Err(e) => report.errors.push(format!("archived, but the workflow not set RESOLVED: {e}")),
            }
        }
        Ok(report)
    }

    async fn open(&self, subject: Option<&Subject>) -> Result<Vec<OpenFinding>, AwsError> {
        let prefix = open::prefix(&self.place, subject);
        let (keys, _, _) = list_keys(&self.s3, &self.bucket, &prefix, MAX_PAGES).await?;
        Ok(keys.iter().filter_map(|k| open::parse(&self.place, k)).collect())
    }
}
