//! The guard's entry point, thin: parse the trigger, decide whose projects to check, run the
//! checks (`run.rs`), send the notices (`dispatch.rs`), report.

use super::GuardConfig;
use super::assess::Assessment;
use super::dispatch::dispatch;
use super::notice::NoticeContext;
use super::plan::GuardPolicy;
use super::run::{Checked, Run};
use crate::aws::Clients;
use crate::aws::codebuild::CodeBuildProjects;
use crate::aws::iam::PolicySimulator;
use crate::aws::securityhub::SecurityHub;
use crate::aws::sns::SnsPublisher;
use crate::clock::{Clock, SystemClock};
use crate::error::AwsError;
use crate::event::{EventError, Trigger};
use crate::findings::Place;
use crate::findings::guard::observations as guard_observations;
use crate::findings::sink::{FindingsReport, FindingsSink};
use crate::project::ProjectSnapshot;
use futures::StreamExt;
use std::sync::Arc;
use tracing::{Instrument, info, info_span, warn};

/// Projects assessed at once (each may cost a SimulatePrincipalPolicy or BatchGetFleets call).
const ASSESS_CONCURRENCY: usize = 8;

pub use super::report::{GuardReport, Outcome, ProjectOutcome};

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error(
        "cannot tell the AWS account to name the cache bucket codebuild-cache-<account>-<region>: the event has no `account`; set CACHE_BUCKET"
    )]
    UnknownAccount,
    #[error("cannot list projects for the sweep: {0}")]
    Listing(AwsError),
    #[error("{failed} of {total} projects could not be checked or healed (transient, retried): {first}")]
    ProjectsFailed { failed: usize, total: usize, first: String },
    #[error("notices could not be sent (transient, retried): {0}")]
    Notify(AwsError),
    #[error("findings could not be imported into Security Hub (transient, retried): {0}")]
    Findings(AwsError),
}

impl GuardError {
    /// The error's name as Lambda reports it (`errorType`), so logs and alarms show the cause.
    pub fn error_type(&self) -> &'static str {
        match self {
            GuardError::Event(_) => "CacheGuard.InvalidEvent",
            GuardError::UnknownAccount => "CacheGuard.UnknownAccount",
            GuardError::Listing(_) => "CacheGuard.ListingFailed",
            GuardError::ProjectsFailed { .. } => "CacheGuard.ProjectsFailed",
            GuardError::Notify(_) => "CacheGuard.NotifyFailed",
            GuardError::Findings(_) => "CacheGuard.FindingsFailed",
        }
    }
}

/// The guard, built once per cold start.
pub struct CacheGuard {
    pub(super) config: GuardConfig,
    pub(super) projects: CodeBuildProjects,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) simulator: PolicySimulator,
    pub(super) publisher: SnsPublisher,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    /// Security Hub, when SECURITY_HUB_FINDINGS is on.
    pub(super) hub: Option<SecurityHub>,
}

impl CacheGuard {
    pub fn new(config: GuardConfig, clients: &Clients) -> Self {
        let publisher = SnsPublisher::new(clients.sns.clone(), config.common.topic_arn.clone())
            .naming_origin(config.common.name_origin);
        let hub = SecurityHub::when_enabled(config.common.security_hub, &clients.sdk);
        CacheGuard {
            hub,
            projects: CodeBuildProjects::new(clients.codebuild.clone()),
            s3: clients.s3.clone(),
            // IAM is the guard's alone: its client is built here, from the shared configuration.
            simulator: PolicySimulator::new(clients.iam()),
            publisher,
            region: clients.region_or_default().to_owned(),
            clock: Arc::new(SystemClock),
            config,
        }
    }

    /// Another IAM client (tests: mocks).
    pub fn with_iam(mut self, client: aws_sdk_iam::Client) -> Self {
        self.simulator = PolicySimulator::new(client);
        self
    }

    /// Another clock (tests, replays): the markers' expiry is measured with it.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Handles one event without knowing the function's own account (tests, local runs): events
    /// from any account are handled. Lambda invocations go through [`CacheGuard::handle_in_account`].
    /// The policy the guard enforces with this cache bucket.
    pub fn policy(&self, bucket: String) -> GuardPolicy {
        GuardPolicy {
            bucket,
            layout: self.config.common.layout.clone(),
            projects: self.config.common.projects.clone(),
            ignore_tag: self.config.ignore_tag.clone(),
            relocate_custom_s3: self.config.relocate_custom_s3,
        }
    }

    /// What the guard would decide for each project (in order), with every fact it checks first
    /// (the bucket, the service role's access, a shared location, the fleet), and the role's
    /// access to the location as it found it, also for projects already on S3; nothing carried
    /// out: no UpdateProject, no marker, no notice. For audits (`cache-sentinel audit`).
    pub async fn assess(&self, bucket: String, projects: &[ProjectSnapshot]) -> Vec<Result<Assessment, AwsError>> {
        let run = Run::new(self, self.policy(bucket));
        futures::stream::iter(projects)
            .map(|project| run.assess(project, true))
            .buffered(ASSESS_CONCURRENCY)
            .collect()
            .await
    }

    pub async fn handle(&self, event: &serde_json::Value) -> Result<GuardReport, GuardError> {
        self.handle_in_account(event, None).await
    }

    /// Handles one event: a build state change checks that project, a scheduled event sweeps all.
    /// An event from another account than `own_account` is skipped: the guard can only change
    /// projects of its own account.
    pub async fn handle_in_account(
        &self,
        event: &serde_json::Value,
        own_account: Option<&str>,
    ) -> Result<GuardReport, GuardError> {
        let trigger = match Trigger::parse(event) {
            Ok(trigger) => trigger,
            Err(e) if e.is_unhandled() => {
                warn!(action = "refuse", reason = %e, "not an event the guard handles");
                return Ok(GuardReport {
                    trigger: "unhandled",
                    event_id: event.get("id").and_then(serde_json::Value::as_str).map(str::to_owned),
                    dry_run: self.config.common.dry_run,
                    bucket: self.config.common.layout.bucket.clone().unwrap_or_default(),
                    projects: vec![],
                    notice_problems: vec![],
                    refused: Some(e.to_string()),
                    findings: None,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let bucket = self
            .config
            .common
            .layout
            .resolve_bucket(trigger.account(), &self.region)
            .ok_or(GuardError::UnknownAccount)?;
        self.publisher.know_account(trigger.account().or(own_account));
        let run = Run::new(self, self.policy(bucket.clone()));
        let foreign = not_ours(trigger.account(), own_account, trigger.region(), &self.region);
        let (kind, checked) = match &trigger {
            Trigger::BuildStateChange(change) => {
                let build_id = change.build_id.clone();
                let span = info_span!("guard", project = %change.project, build_id = build_id.as_deref().unwrap_or("-"), status = %change.status, action = "check");
                let checked = match foreign {
                    Some(why) => {
                        vec![Checked { outcome: ProjectOutcome::skipped(&change.project, build_id, why), notice: None }]
                    }
                    None => run.check_projects(std::slice::from_ref(&change.project), build_id).instrument(span).await,
                };
                ("build-state-change", checked)
            }
            Trigger::Scheduled(_) => {
                let span = info_span!("guard", project = "*", build_id = "-", action = "sweep");
                let checked = match foreign {
                    Some(why) => vec![Checked { outcome: ProjectOutcome::skipped("*", None, why), notice: None }],
                    None => {
                        async {
                            let names = self.projects.list_names().await.map_err(GuardError::Listing)?;
                            info!(projects = names.len(), "sweeping every project in the region");
                            Ok::<_, GuardError>(run.check_projects(&names, None).await)
                        }
                        .instrument(span)
                        .await?
                    }
                };
                ("scheduled-sweep", checked)
            }
        };
        let account = trigger.account().or(own_account);
        self.finish(&run, (trigger.event_id(), account), kind, bucket, checked).await
    }

    /// Sends the notices, logs the summary, and fails the invocation on transient errors only.
    async fn finish(
        &self,
        run: &Run<'_>,
        (event_id, account): (Option<&str>, Option<&str>),
        kind: &'static str,
        bucket: String,
        checked: Vec<Checked>,
    ) -> Result<GuardReport, GuardError> {
        let (mut outcomes, wanted): (Vec<ProjectOutcome>, Vec<_>) =
            checked.into_iter().map(|c| (c.outcome, c.notice)).unzip();
        let pending: Vec<_> = wanted.iter().flatten().cloned().collect();
        let owners: Vec<usize> = wanted.iter().enumerate().filter(|(_, n)| n.is_some()).map(|(i, _)| i).collect();
        let ctx = NoticeContext { region: &self.region, event_id };
        let sent = dispatch(run, &pending, &ctx, kind == "scheduled-sweep").await;
        for index in &sent.notified {
            outcomes[owners[*index]].notified = true;
        }
        let (findings, findings_error) = match self.findings(&bucket, account, &outcomes).await {
            Ok(findings) => (findings, None),
            Err(e) => (None, Some(e)),
        };
        let report = GuardReport {
            trigger: kind,
            event_id: event_id.map(str::to_owned),
            dry_run: self.config.common.dry_run,
            bucket,
            projects: outcomes,
            notice_problems: sent.problems,
            refused: None,
            findings,
        };
        let failed: Vec<&ProjectOutcome> = report.projects.iter().filter(|p| p.outcome == Outcome::Failed).collect();
        info!(
            action = "summary",
            healed = report.count(Outcome::Healed),
            would_heal = report.count(Outcome::WouldHeal),
            unchanged = report.count(Outcome::Unchanged),
            kept = report.count(Outcome::Kept),
            duplicate = report.count(Outcome::Duplicate),
            skipped = report.count(Outcome::Skipped),
            refused = report.count(Outcome::Refused),
            failed = failed.len(),
            report = %serde_json::to_string(&report).unwrap_or_default(),
            "guard run finished"
        );
        if let Some(first) = failed.first() {
            // Transient only: EventBridge and Lambda retry, and the error alarm fires.
            return Err(GuardError::ProjectsFailed {
                failed: failed.len(),
                total: report.projects.len(),
                first: format!("{}: {}", first.project, first.reason),
            });
        }
        if let Some(e) = sent.transient {
            return Err(GuardError::Notify(e));
        }
        if let Some(e) = findings_error {
            return Err(GuardError::Findings(e));
        }
        Ok(report)
    }

    /// The run's findings in Security Hub (SECURITY_HUB_FINDINGS); None when off. The account
    /// must be known (the product ARN names it). The error is transient: the invocation is retried.
    async fn findings(
        &self,
        bucket: &str,
        account: Option<&str>,
        outcomes: &[ProjectOutcome],
    ) -> Result<Option<FindingsReport>, AwsError> {
        let Some(hub) = &self.hub else { return Ok(None) };
        let Some(account) = account else {
            return Ok(Some(FindingsReport::not_sent(
                "the AWS account is not known (no account in the event): no findings",
            )));
        };
        let sink =
            FindingsSink::new(hub, &self.s3, bucket, Place::new(&self.region, account), self.config.common.dry_run);
        sink.report(&guard_observations(outcomes), self.clock.now()).await.map(Some)
    }
}

/// Why an event is not this guard's to handle: another account (the guard can only update its own
/// account's projects, and would name the bucket after the other account) or another region.
fn not_ours(
    account: Option<&str>,
    own_account: Option<&str>,
    region: Option<&str>,
    own_region: &str,
) -> Option<String> {
    if let (Some(account), Some(own)) = (account, own_account)
        && account != own
    {
        return Some(format!(
            "event from account {account}, but this guard runs in account {own} and can only change its own projects; deploy cache-sentinel in {account}"
        ));
    }
    match region {
        Some(region) if region != own_region => Some(format!(
            "event from region {region}, but this guard manages {own_region}; deploy the guard in {region}"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::not_ours;

    #[test]
    fn events_of_other_accounts_and_regions_are_not_ours() {
        let other = not_ours(Some("210987654321"), Some("123456789012"), Some("ap-south-1"), "ap-south-1");
        assert!(other.is_some_and(|w| w.contains("account 210987654321") && w.contains("123456789012")));
        assert!(not_ours(Some("123456789012"), Some("123456789012"), Some("ap-south-1"), "ap-south-1").is_none());
        assert!(not_ours(Some("210987654321"), None, None, "ap-south-1").is_none(), "own account unknown");
        assert!(
            not_ours(None, Some("123456789012"), Some("eu-west-1"), "ap-south-1")
                .is_some_and(|w| w.contains("eu-west-1"))
        );
    }
}
